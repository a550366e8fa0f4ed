-- an explicit cast to varchar(8) cuts longer values silently
ALTER TABLE users ALTER COLUMN nickname TYPE varchar(8) USING nickname::varchar(8);
