create type public.member_role as enum ('owner', 'admin', 'member');

create table public.workspaces (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique,
  name text not null,
  owner_id uuid not null references public.profiles (id) on delete restrict,
  created_at timestamptz not null default now(),
  constraint workspaces_slug_format check (slug ~ '^[a-z0-9][a-z0-9-]{1,38}$')
);

create table public.workspace_members (
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  profile_id uuid not null references public.profiles (id) on delete cascade,
  role public.member_role not null default 'member',
  joined_at timestamptz not null default now(),
  primary key (workspace_id, profile_id)
);

create index workspace_members_profile_id_idx on public.workspace_members (profile_id);

-- security definer so that policies on workspace_members can use it without recursing
create or replace function public.is_workspace_member(ws uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.workspace_members m
    where m.workspace_id = ws and m.profile_id = (select auth.uid())
  );
$$;

alter table public.workspaces enable row level security;
alter table public.workspace_members enable row level security;

create policy "Members can view their workspaces" on public.workspaces
  for select to authenticated
  using ( public.is_workspace_member(id) );

create policy "Anyone signed in can create a workspace" on public.workspaces
  for insert to authenticated
  with check ( (select auth.uid()) = owner_id );

create policy "Owners can update their workspace" on public.workspaces
  for update to authenticated
  using ( (select auth.uid()) = owner_id );

create policy "Members can view co-members" on public.workspace_members
  for select to authenticated
  using ( public.is_workspace_member(workspace_id) );

grant select, insert, update, delete on table public.workspaces to authenticated, service_role;
grant select, insert, update, delete on table public.workspace_members to authenticated, service_role;
revoke execute on function public.is_workspace_member(uuid) from public;
grant execute on function public.is_workspace_member(uuid) to authenticated, service_role;
