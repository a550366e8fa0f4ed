CREATE INDEX users_created_at_idx ON users (created_at);
COMMENT ON INDEX users_created_at_idx IS 'signup reports';
