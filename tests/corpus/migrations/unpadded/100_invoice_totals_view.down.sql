DROP VIEW IF EXISTS account_invoice_totals;
DROP FUNCTION IF EXISTS invoice_total_cents(bigint, invoice_status);
