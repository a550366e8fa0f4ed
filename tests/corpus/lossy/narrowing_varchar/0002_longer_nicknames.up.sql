ALTER TABLE users ALTER COLUMN nickname TYPE varchar(32);
