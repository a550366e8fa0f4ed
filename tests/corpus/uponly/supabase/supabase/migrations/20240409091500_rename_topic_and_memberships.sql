-- channels.topic is shown as the channel description everywhere now
alter table public.channels rename column topic to description;

-- workspace_members -> memberships
alter table public.workspace_members rename to memberships;
alter table public.memberships rename constraint workspace_members_pkey to memberships_pkey;
alter index public.workspace_members_profile_id_idx rename to memberships_profile_id_idx;

-- the helper's body names the table, so it has to follow the rename
create or replace function public.is_workspace_member(ws uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.memberships m
    where m.workspace_id = ws and m.profile_id = (select auth.uid())
  );
$$;
