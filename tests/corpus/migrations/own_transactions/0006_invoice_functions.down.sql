BEGIN;
-- no COMMIT; inside this comment ends anything
DROP PROCEDURE void_stale_drafts(integer);
DROP FUNCTION invoice_label(bigint);
DROP FUNCTION mark_invoice_paid(bigint);
COMMIT;
