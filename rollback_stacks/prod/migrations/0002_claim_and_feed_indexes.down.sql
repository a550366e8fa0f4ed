-- 0002 (down): indexes only; no data is lost.
DROP INDEX IF EXISTS public.feed_items_page_idx;
DROP INDEX IF EXISTS public.worker_jobs_claim_idx;
