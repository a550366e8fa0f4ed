CREATE SEQUENCE invoice_number_seq;
ALTER TABLE invoices ALTER COLUMN number SET DEFAULT nextval('invoice_number_seq');
