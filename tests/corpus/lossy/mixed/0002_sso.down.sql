-- v1 has no SSO: its sessions, the tiers and the audit trail go
DELETE FROM sessions WHERE kind = 'sso';
DROP TYPE tier CASCADE;
DO $$
BEGIN
  IF to_regclass('public.sso_audit') IS NOT NULL THEN
    DROP TABLE sso_audit;
  END IF;
END
$$;
