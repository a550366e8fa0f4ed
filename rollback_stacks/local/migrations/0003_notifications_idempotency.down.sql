-- 0003 (down): drops the idempotency keys.
DROP INDEX IF EXISTS public.notifications_idempotency_uq;
ALTER TABLE public.notifications DROP COLUMN IF EXISTS idempotency_key;
