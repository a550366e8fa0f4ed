-- 0001_init: the app's base schema (seed 000): jobs, dead letters, notifications, consent, feed, earnings, rate limits.
CREATE TABLE public.worker_jobs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'paused', 'failed', 'done')),
  error text,
  attempts integer NOT NULL DEFAULT 0,
  started_at timestamptz,
  next_run_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.dead_letter_queue (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  job_id uuid,
  kind text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  error text,
  attempts integer NOT NULL DEFAULT 0,
  failed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.notifications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL,
  channel text NOT NULL,
  kind text NOT NULL,
  title text NOT NULL,
  body text,
  data jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.ai_consent (
  user_id uuid PRIMARY KEY,
  notifications_enabled boolean NOT NULL DEFAULT true,
  frequency_cap integer NOT NULL DEFAULT 5 CHECK (frequency_cap >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.feed_items (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL,
  item_id uuid NOT NULL,
  score double precision NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.earnings_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL,
  amount_cents bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.earnings_ledger (
  user_id uuid PRIMARY KEY,
  total_earned_cents bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.rate_limit_configs (
  scope text PRIMARY KEY,
  max_requests integer NOT NULL CHECK (max_requests > 0),
  window_seconds integer NOT NULL DEFAULT 60 CHECK (window_seconds > 0)
);

CREATE TABLE public.rate_limit_counters (
  scope text NOT NULL,
  subject text NOT NULL,
  window_start timestamptz NOT NULL,
  hits integer NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, subject, window_start)
);

CREATE FUNCTION public.notifications_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;

CREATE TRIGGER notifications_touch_updated_at
  BEFORE UPDATE ON public.notifications
  FOR EACH ROW EXECUTE FUNCTION public.notifications_touch();

CREATE FUNCTION public.earnings_apply_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  INSERT INTO public.earnings_ledger (user_id, total_earned_cents)
  VALUES (NEW.user_id, NEW.amount_cents)
  ON CONFLICT (user_id) DO UPDATE
    SET total_earned_cents = earnings_ledger.total_earned_cents + EXCLUDED.total_earned_cents,
        updated_at = now();
  RETURN NEW;
END $$;

CREATE TRIGGER earnings_events_to_ledger
  AFTER INSERT ON public.earnings_events
  FOR EACH ROW EXECUTE FUNCTION public.earnings_apply_event();
