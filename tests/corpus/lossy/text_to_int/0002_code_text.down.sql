ALTER TABLE imports ALTER COLUMN code TYPE integer USING code::integer;
