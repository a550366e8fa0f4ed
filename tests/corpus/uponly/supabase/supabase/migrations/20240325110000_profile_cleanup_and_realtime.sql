begin;

-- nobody filled it in
alter table public.profiles drop column website;

-- new channels are private unless made public
alter table public.channels alter column is_private set default true;

alter publication supabase_realtime add table public.messages;

commit;
