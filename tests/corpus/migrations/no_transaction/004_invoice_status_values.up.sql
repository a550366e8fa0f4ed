-- New enum values may be added in a transaction (PostgreSQL >= 12) but not used in it: nothing here uses them.
ALTER TYPE invoice_status ADD VALUE 'refunded' AFTER 'paid';
ALTER TYPE invoice_status ADD VALUE IF NOT EXISTS 'disputed';
