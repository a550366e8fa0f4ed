DROP INDEX audit_log_account_at_idx;
begin;
ALTER TABLE audit_log DROP COLUMN actor_email;
commit;
DROP TABLE audit_log;
