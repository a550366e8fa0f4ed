-- 0003: v1.4.2's notif_send is idempotent per (user, key).
ALTER TABLE public.notifications ADD COLUMN idempotency_key text;
CREATE UNIQUE INDEX notifications_idempotency_uq
  ON public.notifications (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
