DROP VIEW IF EXISTS active_users;
DROP TRIGGER IF EXISTS accounts_touch_updated_at ON accounts;
DROP FUNCTION IF EXISTS touch_updated_at();
