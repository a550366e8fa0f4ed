DROP TABLE IF EXISTS invoices;
DROP TYPE IF EXISTS invoice_status;
