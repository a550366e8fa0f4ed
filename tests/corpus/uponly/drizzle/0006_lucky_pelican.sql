CREATE TABLE "highlights" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"bookmark_id" integer NOT NULL,
	"reader_id" integer NOT NULL,
	"quote" text NOT NULL,
	"note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "highlights" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "highlights" ADD CONSTRAINT "highlights_bookmark_id_bookmarks_id_fk" FOREIGN KEY ("bookmark_id") REFERENCES "public"."bookmarks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "highlights" ADD CONSTRAINT "highlights_reader_id_readers_id_fk" FOREIGN KEY ("reader_id") REFERENCES "public"."readers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "highlights_bookmark_id_idx" ON "highlights" USING btree ("bookmark_id");--> statement-breakpoint
CREATE POLICY "highlights_owner_all" ON "highlights" AS PERMISSIVE FOR ALL TO public USING ("highlights"."reader_id" = nullif(current_setting('app.reader_id', true), '')::integer) WITH CHECK ("highlights"."reader_id" = nullif(current_setting('app.reader_id', true), '')::integer);
