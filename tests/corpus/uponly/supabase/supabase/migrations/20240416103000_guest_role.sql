alter type public.member_role add value if not exists 'guest' after 'member';

-- back to public-by-default: private channels confused new guests
alter table public.channels alter column is_private set default false;

alter table public.memberships add column invited_by uuid references public.profiles (id) on delete set null;
