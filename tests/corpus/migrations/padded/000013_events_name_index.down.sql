DROP INDEX IF EXISTS events_account_name_created_idx;
