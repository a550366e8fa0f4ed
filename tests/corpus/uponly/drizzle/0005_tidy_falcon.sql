ALTER TABLE "bookmarks" ADD COLUMN "archived" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "bookmarks_unread_idx" ON "bookmarks" USING btree ("reader_id") WHERE "bookmarks"."read_at" is null;--> statement-breakpoint
ALTER TABLE "bookmarks" DROP COLUMN IF EXISTS "favicon_url";
