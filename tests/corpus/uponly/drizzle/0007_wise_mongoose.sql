ALTER TABLE "collections" RENAME TO "folders";--> statement-breakpoint
ALTER TABLE "bookmarks" RENAME COLUMN "collection_id" TO "folder_id";--> statement-breakpoint
ALTER TABLE "bookmarks" RENAME COLUMN "title" TO "name";--> statement-breakpoint
ALTER TABLE "folders" DROP CONSTRAINT "collections_reader_id_readers_id_fk";
--> statement-breakpoint
ALTER TABLE "bookmarks" DROP CONSTRAINT "bookmarks_collection_id_collections_id_fk";
--> statement-breakpoint
DROP INDEX "bookmarks_collection_id_idx";--> statement-breakpoint
ALTER TABLE "folders" ADD CONSTRAINT "folders_reader_id_readers_id_fk" FOREIGN KEY ("reader_id") REFERENCES "public"."readers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bookmarks" ADD CONSTRAINT "bookmarks_folder_id_folders_id_fk" FOREIGN KEY ("folder_id") REFERENCES "public"."folders"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "bookmarks_folder_id_idx" ON "bookmarks" USING btree ("folder_id");
