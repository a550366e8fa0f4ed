/* Invoice helpers.
   A naive splitter sees "COMMIT;" and "BEGIN;" in here; PostgreSQL does not. */
BEGIN;

-- mark_invoice_paid: one UPDATE; the caller's transaction decides when to COMMIT;
CREATE FUNCTION mark_invoice_paid(p_invoice_id bigint) RETURNS invoice_status
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_status invoice_status;
BEGIN
    UPDATE invoices SET status = 'paid', paid_at = now()
    WHERE id = p_invoice_id AND status = 'open'
    RETURNING status INTO v_status;
    IF v_status IS NULL THEN
        RAISE EXCEPTION 'invoice % is not open; nothing to COMMIT;', p_invoice_id;
    END IF;
    RETURN v_status;
END;
$fn$;

CREATE FUNCTION invoice_label(p_invoice_id bigint) RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT 'INV-' || lpad(p_invoice_id::text, 6, '0') || '; status: ' || status::text
      FROM invoices WHERE id = p_invoice_id $$;

CREATE PROCEDURE void_stale_drafts(p_days integer)
LANGUAGE plpgsql
AS $$
BEGIN
    LOOP
        UPDATE invoices SET status = 'void'
        WHERE id IN (SELECT id FROM invoices
                     WHERE status = 'draft' AND paid_at IS NULL
                     LIMIT 500);
        EXIT WHEN NOT FOUND;
        COMMIT;
    END LOOP;
    EXECUTE format($q$COMMENT ON TABLE invoices IS %L$q$, 'drafts older than ' || p_days || ' days voided; COMMIT;');
END;
$$;

COMMENT ON PROCEDURE void_stale_drafts(integer) IS 'Batches of 500; COMMITs between batches';

COMMIT;
