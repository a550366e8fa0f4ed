CREATE TABLE "domains" (
	"id" serial PRIMARY KEY NOT NULL,
	"host" text NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "domains_host_unique" UNIQUE("host")
);
--> statement-breakpoint
ALTER TABLE "bookmarks" ADD COLUMN "domain_id" integer;--> statement-breakpoint
ALTER TABLE "bookmarks" ADD CONSTRAINT "bookmarks_domain_id_domains_id_fk" FOREIGN KEY ("domain_id") REFERENCES "public"."domains"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "bookmarks_domain_id_idx" ON "bookmarks" USING btree ("domain_id");--> statement-breakpoint
-- backfill, added by hand after drizzle-kit generate
INSERT INTO "domains" ("host", "first_seen_at")
	SELECT lower(substring("url" from '^[a-zA-Z]+://([^/:?#]+)')), min("created_at")
	FROM "bookmarks"
	GROUP BY 1
	ON CONFLICT ("host") DO NOTHING;
--> statement-breakpoint
UPDATE "bookmarks" b SET "domain_id" = d."id"
	FROM "domains" d
	WHERE d."host" = lower(substring(b."url" from '^[a-zA-Z]+://([^/:?#]+)'));
