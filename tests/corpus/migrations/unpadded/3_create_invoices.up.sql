CREATE TYPE invoice_status AS ENUM ('draft', 'open', 'paid', 'void');

CREATE TABLE invoices (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    number       text NOT NULL,
    status       invoice_status NOT NULL DEFAULT 'draft',
    amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
    currency     char(3) NOT NULL DEFAULT 'EUR',
    issued_at    timestamptz,
    UNIQUE (account_id, number)
);

CREATE INDEX invoices_account_status_idx ON invoices (account_id, status);
