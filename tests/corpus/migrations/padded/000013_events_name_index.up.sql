CREATE INDEX IF NOT EXISTS events_account_name_created_idx ON events (account_id, name, created_at);
