-- a last purge before the function goes: which rows it deletes is known only when it runs
SELECT purge_old_drafts();
DROP FUNCTION purge_old_drafts();
