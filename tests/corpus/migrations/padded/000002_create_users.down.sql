DROP INDEX IF EXISTS users_account_id_idx;
DROP TABLE IF EXISTS users;
