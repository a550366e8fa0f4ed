DROP INDEX invoices_open_idx;
ALTER TABLE invoices DROP COLUMN status;
DROP TYPE invoice_status;
