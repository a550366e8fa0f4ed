CREATE TABLE users (
    id         bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email      text NOT NULL UNIQUE
);
