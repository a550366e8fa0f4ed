alter table public.channels add column last_message_at timestamptz;

create or replace function public.bump_channel_last_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.channels
     set last_message_at = new.created_at
   where id = new.channel_id
     and (last_message_at is null or last_message_at < new.created_at);
  return new;
end;
$$;

create trigger messages_bump_channel
  after insert on public.messages
  for each row execute function public.bump_channel_last_message();

-- security_invoker: the caller's RLS on channels/messages applies through the view
create view public.channel_overview
with (security_invoker = true)
as
select
  c.id,
  c.workspace_id,
  c.name,
  c.topic,
  c.is_private,
  c.last_message_at,
  (select count(*) from public.messages m where m.channel_id = c.id) as message_count
from public.channels c;

grant select on public.channel_overview to authenticated, service_role;
