ALTER TABLE "collections" ALTER COLUMN "sort_order" SET DEFAULT 0;--> statement-breakpoint
UPDATE "collections" SET "sort_order" = 0 WHERE "sort_order" IS NULL;--> statement-breakpoint
ALTER TABLE "collections" ALTER COLUMN "sort_order" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "bookmarks" ADD COLUMN "read_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "bookmarks" ADD CONSTRAINT "bookmarks_url_scheme_check" CHECK ("bookmarks"."url" ~* '^https?://');
