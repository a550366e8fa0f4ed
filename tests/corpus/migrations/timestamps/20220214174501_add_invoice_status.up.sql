CREATE TYPE invoice_status AS ENUM ('draft', 'sent', 'paid', 'overdue');

ALTER TABLE invoices ADD COLUMN status invoice_status NOT NULL DEFAULT 'draft';

CREATE INDEX invoices_open_idx ON invoices (account_id) WHERE status IN ('sent', 'overdue');
