-- 0005 (down): DATA LOSS: drops the digests table and every digest queued in it.
DROP TABLE IF EXISTS public.notification_digests;
