-- 0004: v1.5.0's worker_fail_job retries with backoff up to max_attempts.
ALTER TABLE public.worker_jobs ADD COLUMN max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts > 0);
ALTER TABLE public.worker_jobs ADD COLUMN last_error_at timestamptz;
