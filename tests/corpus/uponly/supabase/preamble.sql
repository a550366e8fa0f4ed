-- What a hosted/local Supabase project already has before its first migration, reduced to what the
-- migrations in supabase/migrations/ use, for plain PostgreSQL 15. Not a migration: run it once per
-- database, as a superuser, before the first migration. Safe to run again (roles are cluster-wide, so
-- they are created only when missing; everything else is IF NOT EXISTS / OR REPLACE).
--
-- On Supabase, migrations run as `postgres`, which is not a superuser. The privileges that role has on
-- Supabase's own schemas are granted here to the owner of the current database (whoever that is), so
-- the migrations can be replayed by a non-superuser database owner.

-- API roles (PostgREST switches to these from the JWT "role" claim)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
  END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS extensions;
CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS storage;

CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;

-- GoTrue's user table, only the columns migrations commonly read
CREATE TABLE IF NOT EXISTS auth.users (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email              text,
  raw_user_meta_data jsonb DEFAULT '{}'::jsonb,
  created_at         timestamptz DEFAULT now()
);

-- Claims of the current request, as PostgREST sets them (request.jwt.claims = the JWT payload as JSON)
CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb)
$$;

CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')::uuid
$$;

CREATE OR REPLACE FUNCTION auth.role() RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role', '')
$$;

-- Storage API's bucket table (objects are out of scope)
CREATE TABLE IF NOT EXISTS storage.buckets (
  id                 text PRIMARY KEY,
  name               text NOT NULL UNIQUE,
  owner              uuid,
  public             boolean DEFAULT false,
  file_size_limit    bigint,
  allowed_mime_types text[],
  created_at         timestamptz DEFAULT now(),
  updated_at         timestamptz DEFAULT now()
);

-- Realtime's publication (empty until migrations add tables to it)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime') THEN
    CREATE PUBLICATION supabase_realtime;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public, extensions, auth, storage TO anon, authenticated, service_role;
GRANT SELECT ON auth.users TO service_role;
GRANT SELECT ON storage.buckets TO anon, authenticated;
GRANT ALL ON storage.buckets TO service_role;

-- What Supabase's (non-superuser) `postgres` role may do in these schemas, for this database's owner
DO $$
DECLARE
  db_owner text := (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database());
BEGIN
  EXECUTE format('GRANT USAGE, CREATE ON SCHEMA extensions TO %I', db_owner);
  EXECUTE format('GRANT USAGE ON SCHEMA auth, storage TO %I', db_owner);
  EXECUTE format('GRANT ALL ON TABLE auth.users, storage.buckets TO %I', db_owner);
  EXECUTE format('ALTER PUBLICATION supabase_realtime OWNER TO %I', db_owner);
END
$$;
