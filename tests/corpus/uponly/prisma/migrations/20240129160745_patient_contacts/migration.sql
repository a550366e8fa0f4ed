/*
  Warnings:

  - Added the required column `endsAt` to the `Appointment` table without a default value. This is not possible if the table is not empty.

*/
-- CreateEnum
CREATE TYPE "ContactKind" AS ENUM ('PHONE', 'EMAIL', 'EMERGENCY');

-- AlterTable (edited by hand: add as nullable, backfill, then require)
ALTER TABLE "Appointment" ADD COLUMN     "endsAt" TIMESTAMP(3);

UPDATE "Appointment" SET "endsAt" = "scheduledAt" + make_interval(mins => "durationMinutes");

ALTER TABLE "Appointment" ALTER COLUMN "endsAt" SET NOT NULL;

-- CreateTable
CREATE TABLE "PatientContact" (
    "id" SERIAL NOT NULL,
    "patientId" TEXT NOT NULL,
    "kind" "ContactKind" NOT NULL,
    "value" TEXT NOT NULL,
    "isPrimary" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PatientContact_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "PatientContact_patientId_kind_value_key" ON "PatientContact"("patientId", "kind", "value");

-- AddForeignKey
ALTER TABLE "PatientContact" ADD CONSTRAINT "PatientContact_patientId_fkey" FOREIGN KEY ("patientId") REFERENCES "Patient"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill (hand-written): phone and e-mail move from "Patient" into "PatientContact"; the old
-- columns stay until the app no longer reads them.
INSERT INTO "PatientContact" ("patientId", "kind", "value", "isPrimary")
SELECT "id", 'PHONE'::"ContactKind", "phone", true FROM "Patient" WHERE "phone" IS NOT NULL
UNION ALL
SELECT "id", 'EMAIL'::"ContactKind", "email", "phone" IS NULL FROM "Patient" WHERE "email" IS NOT NULL;
