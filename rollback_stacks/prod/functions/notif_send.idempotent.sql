-- notif_send (v1.4.2): idempotent per (user, key): sending the same key twice stores one row.
CREATE OR REPLACE FUNCTION public.notif_send(
  p_user_id uuid,
  p_channel text,
  p_kind text,
  p_title text,
  p_body text DEFAULT NULL,
  p_data jsonb DEFAULT NULL,
  p_idempotency_key text DEFAULT NULL
)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  v_id uuid;
BEGIN
  IF EXISTS (SELECT 1 FROM public.ai_consent WHERE user_id = p_user_id AND NOT notifications_enabled) THEN
    RETURN NULL;
  END IF;
  INSERT INTO public.notifications (user_id, channel, kind, title, body, data, idempotency_key)
  VALUES (p_user_id, p_channel, p_kind, p_title, p_body, p_data, p_idempotency_key)
  ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING id INTO v_id;
  IF v_id IS NULL THEN
    SELECT id INTO v_id FROM public.notifications
    WHERE user_id = p_user_id AND idempotency_key = p_idempotency_key;
  END IF;
  RETURN v_id;
END $$;
