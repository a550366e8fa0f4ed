DROP MATERIALIZED VIEW monthly_revenue;
DROP FUNCTION month_start(date);
