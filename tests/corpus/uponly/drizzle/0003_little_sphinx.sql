-- Custom SQL migration file, put your code below! --
CREATE OR REPLACE FUNCTION "set_updated_at"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW."updated_at" := now();
	RETURN NEW;
END;
$$;
--> statement-breakpoint
-- only edits a reader makes bump updated_at (not read_at, not backfills)
CREATE TRIGGER "bookmarks_set_updated_at"
	BEFORE UPDATE OF "url", "title", "description" ON "bookmarks"
	FOR EACH ROW EXECUTE FUNCTION "set_updated_at"();
--> statement-breakpoint
CREATE VIEW "public_bookmarks" AS
	SELECT b."id", b."url", b."title", b."description",
	       r."handle" AS "reader_handle", c."title" AS "collection_title", b."created_at"
	FROM "bookmarks" b
	JOIN "readers" r ON r."id" = b."reader_id"
	LEFT JOIN "collections" c ON c."id" = b."collection_id"
	WHERE b."visibility" = 'public';
