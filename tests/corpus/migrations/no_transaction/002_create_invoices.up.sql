CREATE TYPE invoice_status AS ENUM ('draft', 'open', 'paid', 'void');

CREATE TABLE invoices (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id),
    status       invoice_status NOT NULL DEFAULT 'draft',
    amount_cents bigint NOT NULL DEFAULT 0,
    due_on       date
);
