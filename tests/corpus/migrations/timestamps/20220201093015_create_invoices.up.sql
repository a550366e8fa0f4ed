CREATE TABLE invoices (
    id           serial PRIMARY KEY,
    account_id   integer NOT NULL REFERENCES accounts (id),
    amount_cents integer NOT NULL,
    issued_on    date NOT NULL DEFAULT current_date
);

CREATE INDEX invoices_account_id_idx ON invoices (account_id);
