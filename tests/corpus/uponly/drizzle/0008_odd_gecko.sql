ALTER TYPE "public"."bookmark_visibility" ADD VALUE 'followers' BEFORE 'public';--> statement-breakpoint
ALTER TABLE "bookmarks" ALTER COLUMN "visibility" SET DEFAULT 'unlisted';--> statement-breakpoint
ALTER TABLE "readers" ADD COLUMN "display_name" varchar(80);--> statement-breakpoint
UPDATE "readers" SET "display_name" = "handle" WHERE "display_name" IS NULL;
