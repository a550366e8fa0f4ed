DO $$
BEGIN
  IF to_regclass('public.audit_log') IS NOT NULL THEN
    DROP TABLE audit_log;
  END IF;
END
$$;
