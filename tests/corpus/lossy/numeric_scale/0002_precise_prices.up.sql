ALTER TABLE prices ALTER COLUMN amount TYPE numeric(12,4);
