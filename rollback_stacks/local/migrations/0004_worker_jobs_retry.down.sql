-- 0004 (down): back to v1.4.2's job shape.
ALTER TABLE public.worker_jobs DROP COLUMN IF EXISTS last_error_at;
ALTER TABLE public.worker_jobs DROP COLUMN IF EXISTS max_attempts;
