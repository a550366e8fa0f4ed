CREATE TABLE IF NOT EXISTS invoices (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id  uuid NOT NULL REFERENCES accounts (id),
    total       numeric(12, 2) NOT NULL DEFAULT 0,
    due_on      date,
    paid_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS invoices_unpaid_due_idx ON invoices (due_on) WHERE paid_at IS NULL;
