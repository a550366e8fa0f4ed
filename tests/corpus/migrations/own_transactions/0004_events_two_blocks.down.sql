BEGIN;
DROP INDEX events_kind_idx;
DROP INDEX events_account_occurred_idx;
COMMIT;
BEGIN;
DROP TABLE events;
COMMIT;
