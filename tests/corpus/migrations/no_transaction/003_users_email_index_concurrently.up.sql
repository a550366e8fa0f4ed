-- CREATE INDEX CONCURRENTLY cannot run inside a transaction block: it is the only statement here.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users (lower(email));
