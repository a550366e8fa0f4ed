-- notif_send (v1.5.0): over the user's daily frequency cap, queues the notification into a digest instead.
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
  v_cap integer;
  v_sent integer;
BEGIN
  SELECT CASE WHEN notifications_enabled THEN frequency_cap ELSE 0 END INTO v_cap
  FROM public.ai_consent WHERE user_id = p_user_id;
  v_cap := coalesce(v_cap, 5);
  SELECT count(*) INTO v_sent FROM public.notifications
  WHERE user_id = p_user_id AND created_at >= date_trunc('day', now());
  IF v_sent >= v_cap THEN
    INSERT INTO public.notification_digests AS d (user_id, day, pending_count, items)
    VALUES (p_user_id, current_date, 1, jsonb_build_array(jsonb_build_object('kind', p_kind, 'title', p_title)))
    ON CONFLICT (user_id, day) DO UPDATE
      SET pending_count = d.pending_count + 1, items = d.items || EXCLUDED.items
    RETURNING id INTO v_id;
    RETURN v_id;
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
