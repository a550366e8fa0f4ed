CREATE TABLE IF NOT EXISTS events (
    id          bigserial PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    actor_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    name        text NOT NULL,
    properties  jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
