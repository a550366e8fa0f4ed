ALTER TABLE orders ALTER COLUMN total TYPE integer USING round(total * 100)::integer;
