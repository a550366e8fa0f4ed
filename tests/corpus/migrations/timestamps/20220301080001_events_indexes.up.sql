CREATE INDEX events_account_recorded_idx ON events (account_id, recorded_at);
CREATE INDEX events_type_idx ON events (type);
