// drizzle-orm's own migrator (npm drizzle-orm + pg), run as a user's CI would: migrate(db, { migrationsFolder }).
// Usage: NODE_MODULES=<dir> DATABASE_URL=<dsn> node drizzle_migrate.mjs <migrationsFolder>
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const load = (path) => import(pathToFileURL(join(process.env.NODE_MODULES ?? "", path)).href);
const pg = (await load("pg/lib/index.js")).default;
const { drizzle } = await load("drizzle-orm/node-postgres/index.js");
const { migrate } = await load("drizzle-orm/node-postgres/migrator.js");

const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
try {
  await migrate(drizzle(client), { migrationsFolder: process.argv[2] });
  console.log("migrated");
} finally {
  await client.end();
}
