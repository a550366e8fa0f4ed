ALTER TABLE prices ALTER COLUMN amount TYPE numeric(10,2);
