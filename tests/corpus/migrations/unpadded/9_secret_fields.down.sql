ALTER TABLE accounts DROP CONSTRAINT IF EXISTS accounts_api_secret_pair;

ALTER TABLE accounts
    DROP COLUMN IF EXISTS api_rotated_at,
    DROP COLUMN IF EXISTS api_secret_hash,
    DROP COLUMN IF EXISTS api_key_id;
