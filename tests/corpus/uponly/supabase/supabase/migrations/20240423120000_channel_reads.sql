create table public.channel_reads (
  channel_id uuid not null references public.channels (id) on delete cascade,
  profile_id uuid not null references public.profiles (id) on delete cascade,
  last_read_at timestamptz not null default now(),
  primary key (channel_id, profile_id)
);

alter table public.channel_reads enable row level security;

create policy "Users manage their own read markers" on public.channel_reads
  for all to authenticated
  using ( (select auth.uid()) = profile_id )
  with check ( (select auth.uid()) = profile_id );

grant select, insert, update, delete on table public.channel_reads to authenticated, service_role;

-- Backfill: whoever posted in a channel has read it up to their latest message.
insert into public.channel_reads (channel_id, profile_id, last_read_at)
select m.channel_id, m.author_id, max(m.created_at)
from public.messages m
group by m.channel_id, m.author_id
on conflict do nothing;

-- Display names: start from what sign-up gave us.
alter table public.profiles add column display_name text;

update public.profiles
   set display_name = coalesce(full_name, username)
 where display_name is null;
