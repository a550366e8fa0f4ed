-- The example app's steady load for the live-traffic harness (sandbox.traffic; tests/e2e, bench/traffic.py).
--
-- Only what BOTH v1.4.2 (schema 3) and v1.5.0 (schema 5) run: the tables and columns of migrations 0001-0003,
-- nothing of 0004 (worker_jobs.max_attempts, last_error_at) or 0005 (notification_digests). So every statement
-- works before, during and after a rollback 1.5.0 -> 1.4.2 and the release back.
--
-- Writes never leave a row the data-loss pre-check of the down files counts (0004 drops two worker_jobs columns,
-- so any worker_jobs row counts; 0005 drops notification_digests): worker_jobs is read, updated and swept, never
-- inserted into. Nor anything a health check counts (dead_letter_queue rows, running jobs, duplicate feed items;
-- the ledger follows the events by its trigger).
--
-- Users are a fixed population of 1000 ids, md5(n)::uuid; (SELECT ...) evaluates random() once per statement.
-- No client-side parameters: one statement per `;` at the end of a line.

-- the worker's claim scan (0002's worker_jobs_claim_idx), a job by id, the operator's dead-letter count
SELECT id, kind, payload, attempts FROM public.worker_jobs
WHERE status = 'pending' AND next_run_at <= now() ORDER BY next_run_at LIMIT 10;
SELECT id, kind, status, attempts, error, updated_at FROM public.worker_jobs WHERE id = (SELECT gen_random_uuid());
SELECT count(*) FROM public.dead_letter_queue;

-- a user's feed page (0002's feed_items_page_idx), notifications, consent, earnings (ledger joined with its events)
SELECT id, item_id, score, created_at FROM public.feed_items
WHERE user_id = (SELECT md5(floor(random() * 1000)::text)::uuid) ORDER BY created_at DESC, id DESC LIMIT 20;
SELECT id, channel, kind, title, idempotency_key, created_at FROM public.notifications
WHERE user_id = (SELECT md5(floor(random() * 1000)::text)::uuid) ORDER BY created_at DESC LIMIT 20;
SELECT notifications_enabled, frequency_cap FROM public.ai_consent
WHERE user_id = (SELECT md5(floor(random() * 1000)::text)::uuid);
SELECT l.user_id, l.total_earned_cents, count(e.id) AS events, max(e.created_at) AS last_event
FROM public.earnings_ledger l LEFT JOIN public.earnings_events e ON e.user_id = l.user_id
WHERE l.user_id = (SELECT md5(floor(random() * 1000)::text)::uuid)
GROUP BY l.user_id, l.total_earned_cents;
SELECT max_requests, window_seconds FROM public.rate_limit_configs WHERE scope = 'api';

-- writes on the tables the down files lock (worker_jobs): reschedule a job, sweep old finished jobs
UPDATE public.worker_jobs SET next_run_at = now(), updated_at = now()
WHERE id = (SELECT gen_random_uuid()) AND status = 'pending';
DELETE FROM public.worker_jobs WHERE status = 'done' AND updated_at < now() - interval '30 days';

-- the app's own writes: a notification (with 0003's idempotency key), an earning, a feed item, consent, a hit
INSERT INTO public.notifications (user_id, channel, kind, title, body, idempotency_key)
VALUES ((SELECT md5(floor(random() * 1000)::text)::uuid), 'in_app', 'traffic', 'Hello', 'steady load',
        md5(random()::text || clock_timestamp()::text));
INSERT INTO public.earnings_events (user_id, amount_cents)
VALUES ((SELECT md5(floor(random() * 1000)::text)::uuid), 1 + floor(random() * 500)::bigint);
INSERT INTO public.feed_items (user_id, item_id, score)
VALUES ((SELECT md5(floor(random() * 1000)::text)::uuid), gen_random_uuid(), random());
INSERT INTO public.ai_consent (user_id, frequency_cap)
VALUES ((SELECT md5(floor(random() * 1000)::text)::uuid), 5)
ON CONFLICT (user_id) DO UPDATE SET updated_at = now();
INSERT INTO public.rate_limit_counters (scope, subject, window_start, hits)
VALUES ('api', (SELECT md5(floor(random() * 1000)::text)), date_trunc('minute', now()), 1)
ON CONFLICT (scope, subject, window_start) DO UPDATE SET hits = public.rate_limit_counters.hits + 1;
