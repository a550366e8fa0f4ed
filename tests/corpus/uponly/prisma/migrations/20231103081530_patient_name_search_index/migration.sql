-- Created with `prisma migrate dev --create-only` and edited by hand.
-- CONCURRENTLY cannot run inside a transaction block, so it is the only statement of this migration
-- (Prisma sends the whole script as one query; a single statement is not wrapped in a transaction).
CREATE INDEX CONCURRENTLY "Patient_lastName_firstName_lower_idx" ON "Patient" (lower("lastName"), lower("firstName"));
