CREATE FUNCTION invoice_total_cents(p_account_id bigint, p_status invoice_status)
RETURNS bigint
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(sum(amount_cents), 0)::bigint
    FROM invoices
    WHERE account_id = p_account_id AND status = p_status;
$$;

CREATE VIEW account_invoice_totals AS
SELECT a.id AS account_id,
       a.slug,
       invoice_total_cents(a.id, 'open') AS open_cents,
       invoice_total_cents(a.id, 'paid') AS paid_cents
FROM accounts a;
