CREATE FUNCTION purge_old_drafts() RETURNS bigint LANGUAGE sql AS $$
  WITH gone AS (DELETE FROM drafts WHERE created_at < now() - interval '30 days' RETURNING 1)
  SELECT count(*) FROM gone
$$;
