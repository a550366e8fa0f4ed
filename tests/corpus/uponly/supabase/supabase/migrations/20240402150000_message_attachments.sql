insert into storage.buckets (id, name, public, file_size_limit)
values ('attachments', 'attachments', false, 52428800)
on conflict (id) do nothing;

create table public.attachments (
  id uuid primary key default gen_random_uuid(),
  message_id bigint not null references public.messages (id) on delete cascade,
  object_path text not null,
  mime_type text not null,
  size_bytes bigint not null check (size_bytes > 0 and size_bytes <= 52428800),
  created_at timestamptz not null default now()
);

create index attachments_message_id_idx on public.attachments (message_id);

alter table public.attachments enable row level security;

create policy "Members can read attachments" on public.attachments
  for select to authenticated
  using ( exists (
    select 1
    from public.messages m
    join public.channels c on c.id = m.channel_id
    where m.id = message_id and public.is_workspace_member(c.workspace_id)
  ) );

create policy "Authors can attach files" on public.attachments
  for insert to authenticated
  with check ( exists (
    select 1 from public.messages m
    where m.id = message_id and m.author_id = (select auth.uid())
  ) );

grant select, insert, delete on table public.attachments to authenticated;
grant all on table public.attachments to service_role;
