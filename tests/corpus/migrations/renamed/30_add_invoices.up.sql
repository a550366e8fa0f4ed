CREATE TABLE invoices (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id),
    amount_cents bigint NOT NULL,
    due_on       date NOT NULL
);
