CREATE TABLE events (
    id          bigserial PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now()
);
