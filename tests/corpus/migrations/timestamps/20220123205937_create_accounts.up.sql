CREATE TABLE accounts (
    id         serial PRIMARY KEY,
    name       text NOT NULL,
    country    char(2),
    created_at timestamptz NOT NULL DEFAULT now()
);
