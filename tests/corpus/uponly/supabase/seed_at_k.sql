-- Rows valid at K = 20240402150000_message_attachments (7th of 10). Run after preamble.sql and the first 7
-- migrations, before 20240409091500_rename_topic_and_memberships, 20240416103000_guest_role and
-- 20240423120000_channel_reads.
-- At K: public.workspace_members (renamed public.memberships after K) and public.channels.topic
-- (renamed description after K) exist under their old names; profiles.website is already gone.
-- Run it as the database owner (or a superuser): the owner is not subject to the RLS policies.

-- Signing up: handle_new_user() creates the matching public.profiles rows.
insert into auth.users (id, email, raw_user_meta_data, created_at) values
  ('a1a1a1a1-0000-4000-8000-000000000001', 'maya@example.com', '{"full_name": "Maya Patel", "avatar_url": "avatars/maya.png"}', '2024-04-03 09:00:00+00'),
  ('a1a1a1a1-0000-4000-8000-000000000002', 'tom@example.com', '{"full_name": "Tom Becker"}', '2024-04-03 09:05:00+00'),
  ('a1a1a1a1-0000-4000-8000-000000000003', 'guest@example.com', '{}', '2024-04-04 14:00:00+00');

update public.profiles set username = 'maya', updated_at = '2024-04-03 09:10:00+00'
  where id = 'a1a1a1a1-0000-4000-8000-000000000001';
update public.profiles set username = 'tbecker', updated_at = '2024-04-03 09:12:00+00'
  where id = 'a1a1a1a1-0000-4000-8000-000000000002';

insert into public.workspaces (id, slug, name, owner_id, created_at) values
  ('b2b2b2b2-0000-4000-8000-000000000001', 'acme-design', 'Acme Design', 'a1a1a1a1-0000-4000-8000-000000000001', '2024-04-03 09:20:00+00');

insert into public.workspace_members (workspace_id, profile_id, role, joined_at) values
  ('b2b2b2b2-0000-4000-8000-000000000001', 'a1a1a1a1-0000-4000-8000-000000000001', 'owner', '2024-04-03 09:20:00+00'),
  ('b2b2b2b2-0000-4000-8000-000000000001', 'a1a1a1a1-0000-4000-8000-000000000002', 'admin', '2024-04-03 09:30:00+00'),
  ('b2b2b2b2-0000-4000-8000-000000000001', 'a1a1a1a1-0000-4000-8000-000000000003', 'member', '2024-04-04 14:05:00+00');

insert into public.channels (id, workspace_id, name, topic, is_private, created_by, created_at) values
  ('c3c3c3c3-0000-4000-8000-000000000001', 'b2b2b2b2-0000-4000-8000-000000000001', 'general', 'Company-wide announcements', false,
   'a1a1a1a1-0000-4000-8000-000000000001', '2024-04-03 09:21:00+00'),
  ('c3c3c3c3-0000-4000-8000-000000000002', 'b2b2b2b2-0000-4000-8000-000000000001', 'design-review', NULL, true,
   'a1a1a1a1-0000-4000-8000-000000000002', '2024-04-03 10:00:00+00');

-- messages_bump_channel sets channels.last_message_at from these.
insert into public.messages (id, channel_id, author_id, body, created_at, edited_at) values
  (1, 'c3c3c3c3-0000-4000-8000-000000000001', 'a1a1a1a1-0000-4000-8000-000000000001', 'Welcome to Acme Design!', '2024-04-03 09:22:00+00', NULL),
  (2, 'c3c3c3c3-0000-4000-8000-000000000001', 'a1a1a1a1-0000-4000-8000-000000000002', 'Glad to be here', '2024-04-03 09:31:00+00', NULL),
  (3, 'c3c3c3c3-0000-4000-8000-000000000002', 'a1a1a1a1-0000-4000-8000-000000000002', 'New logo drafts attached', '2024-04-03 10:05:00+00', '2024-04-03 10:06:00+00'),
  (4, 'c3c3c3c3-0000-4000-8000-000000000001', 'a1a1a1a1-0000-4000-8000-000000000001', 'Standup moved to 10:30', '2024-04-04 08:00:00+00', NULL);
select setval(pg_get_serial_sequence('public.messages', 'id'), 4);

insert into public.attachments (id, message_id, object_path, mime_type, size_bytes, created_at) values
  ('d4d4d4d4-0000-4000-8000-000000000001', 3, 'attachments/acme-design/logo-v1.png', 'image/png', 482133, '2024-04-03 10:05:00+00'),
  ('d4d4d4d4-0000-4000-8000-000000000002', 3, 'attachments/acme-design/logo-v2.svg', 'image/svg+xml', 10240, '2024-04-03 10:05:30+00');
