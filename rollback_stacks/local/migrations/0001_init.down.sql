-- 0001_init (down): drops the whole base schema; every row of the app is lost.
DROP TABLE IF EXISTS public.rate_limit_counters;
DROP TABLE IF EXISTS public.rate_limit_configs;
DROP TABLE IF EXISTS public.earnings_events;
DROP TABLE IF EXISTS public.earnings_ledger;
DROP TABLE IF EXISTS public.feed_items;
DROP TABLE IF EXISTS public.ai_consent;
DROP TABLE IF EXISTS public.notifications;
DROP TABLE IF EXISTS public.dead_letter_queue;
DROP TABLE IF EXISTS public.worker_jobs;
DROP FUNCTION IF EXISTS public.earnings_apply_event();
DROP FUNCTION IF EXISTS public.notifications_touch();
