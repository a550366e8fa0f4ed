-- API credentials: only a hash of the secret is stored, never the secret itself.
ALTER TABLE accounts
    ADD COLUMN api_key_id      text UNIQUE,
    ADD COLUMN api_secret_hash text,
    ADD COLUMN api_rotated_at  timestamptz;

ALTER TABLE accounts
    ADD CONSTRAINT accounts_api_secret_pair CHECK ((api_key_id IS NULL) = (api_secret_hash IS NULL));
