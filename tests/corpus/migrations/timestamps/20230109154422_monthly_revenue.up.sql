CREATE FUNCTION month_start(ts date) RETURNS date
LANGUAGE sql IMMUTABLE
RETURN date_trunc('month', ts)::date;

CREATE MATERIALIZED VIEW monthly_revenue AS
SELECT account_id, month_start(issued_on) AS month, sum(amount_cents) AS revenue_cents
FROM invoices
WHERE status = 'paid'
GROUP BY account_id, month_start(issued_on)
WITH NO DATA;

CREATE UNIQUE INDEX monthly_revenue_key ON monthly_revenue (account_id, month);
