-- Full-text search over messages.
-- The indexes are built concurrently (messages is the busiest table), which cannot happen inside a
-- transaction block: the column change is committed first, then each index is its own statement.
begin;

alter table public.messages
  add column fts tsvector generated always as (to_tsvector('simple', coalesce(body, ''))) stored;

commit;

create index concurrently if not exists messages_fts_idx on public.messages using gin (fts);

create index concurrently if not exists profiles_username_lower_idx on public.profiles (lower(username));
