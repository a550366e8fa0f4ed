DROP INDEX events_type_idx;
DROP INDEX events_account_recorded_idx;
