-- 0002: v1.4.2 claims jobs by (status, next_run_at) and pages the feed with a (created_at, id) tie-breaker.
CREATE INDEX worker_jobs_claim_idx ON public.worker_jobs (status, next_run_at);
CREATE INDEX feed_items_page_idx ON public.feed_items (user_id, created_at DESC, id DESC);
