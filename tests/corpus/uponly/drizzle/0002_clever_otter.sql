ALTER TABLE "bookmarks" ADD COLUMN "description" text;--> statement-breakpoint
ALTER TABLE "bookmarks" ADD COLUMN "favicon_url" text;--> statement-breakpoint
ALTER TABLE "bookmarks" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "bookmarks_reader_created_idx" ON "bookmarks" USING btree ("reader_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "bookmarks_reader_url_idx" ON "bookmarks" USING btree ("reader_id",lower("url"));
