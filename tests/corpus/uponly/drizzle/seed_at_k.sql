-- Rows valid at K = 0006_lucky_pelican (journal idx 6). Run after replaying idx 0..6, before 0007..0009.
-- At K: "collections" (renamed "folders" by 0007), "bookmarks"."title" (renamed "name" by 0007) and
-- "bookmarks"."collection_id" (renamed "folder_id" by 0007) all exist under their old names.
INSERT INTO "readers" ("id", "handle", "email", "created_at") VALUES
	(1, 'ada', 'ada@example.org', '2024-09-01 08:00:00+00'),
	(2, 'lin', 'lin@example.org', '2024-09-03 12:30:00+00');
SELECT setval(pg_get_serial_sequence('"readers"', 'id'), 2);

INSERT INTO "collections" ("id", "reader_id", "title", "sort_order", "created_at") VALUES
	(1, 1, 'Postgres internals', 1, '2024-09-01 08:05:00+00'),
	(2, 1, 'Recipes', 2, '2024-09-02 19:00:00+00'),
	(3, 2, 'Reading list', 0, '2024-09-03 12:31:00+00');
SELECT setval(pg_get_serial_sequence('"collections"', 'id'), 3);

INSERT INTO "bookmarks" ("id", "reader_id", "collection_id", "url", "title", "description", "visibility",
                         "read_at", "archived", "created_at", "updated_at") VALUES
	(1, 1, 1, 'https://www.postgresql.org/docs/15/mvcc.html', 'Concurrency Control', 'MVCC chapter', 'public',
	 '2024-09-04 07:00:00+00', false, '2024-09-01 08:10:00+00', '2024-09-01 08:10:00+00'),
	(2, 1, 1, 'https://www.postgresql.org/docs/15/sql-createindex.html', 'CREATE INDEX', NULL, 'private',
	 NULL, false, '2024-09-01 08:12:00+00', '2024-09-01 08:12:00+00'),
	(3, 1, 2, 'https://Cooking.Example.com/bread?utm=1', 'Sourdough basics', 'starter + timings', 'unlisted',
	 NULL, false, '2024-09-02 19:05:00+00', '2024-09-02 19:05:00+00'),
	(4, 2, 3, 'http://blog.example.net/posts/42', 'Why queues', NULL, 'public',
	 NULL, true, '2024-09-03 12:40:00+00', '2024-09-03 12:40:00+00'),
	(5, 2, NULL, 'https://www.postgresql.org/about/', 'About PostgreSQL', NULL, 'private',
	 NULL, false, '2024-09-05 09:00:00+00', '2024-09-05 09:00:00+00');
SELECT setval(pg_get_serial_sequence('"bookmarks"', 'id'), 5);

INSERT INTO "tags" ("id", "reader_id", "name", "color") VALUES
	(1, 1, 'db', '#336791'),
	(2, 1, 'food', NULL),
	(3, 2, 'architecture', '#aa5500');
SELECT setval(pg_get_serial_sequence('"tags"', 'id'), 3);

INSERT INTO "bookmark_tags" ("bookmark_id", "tag_id", "tagged_at") VALUES
	(1, 1, '2024-09-01 08:11:00+00'),
	(2, 1, '2024-09-01 08:13:00+00'),
	(3, 2, '2024-09-02 19:06:00+00'),
	(4, 3, '2024-09-03 12:41:00+00');

INSERT INTO "highlights" ("id", "bookmark_id", "reader_id", "quote", "note", "created_at") VALUES
	('6c4a3b1e-2f0d-4d7b-9e61-1f8a2c3d4e01', 1, 1, 'Each SQL statement sees a snapshot of data', 'key idea', '2024-09-04 07:05:00+00'),
	('6c4a3b1e-2f0d-4d7b-9e61-1f8a2c3d4e02', 4, 2, 'queues are databases too', NULL, '2024-09-06 10:00:00+00');
