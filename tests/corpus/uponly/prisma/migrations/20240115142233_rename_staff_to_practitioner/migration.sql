-- Edited by hand: Prisma generated DROP TABLE "Staff" + CREATE TABLE "Practitioner" and
-- DROP COLUMN/ADD COLUMN for the two columns below; replaced with renames so no data is lost.

-- AlterTable
ALTER TABLE "Staff" RENAME TO "Practitioner";

-- AlterTable
ALTER TABLE "Practitioner" RENAME CONSTRAINT "Staff_pkey" TO "Practitioner_pkey";

-- RenameForeignKey
ALTER TABLE "Practitioner" RENAME CONSTRAINT "Staff_clinicId_fkey" TO "Practitioner_clinicId_fkey";

-- RenameIndex
ALTER INDEX "Staff_email_key" RENAME TO "Practitioner_email_key";

-- AlterTable
ALTER TABLE "Appointment" RENAME COLUMN "staffId" TO "practitionerId";

-- AlterTable
ALTER TABLE "Appointment" RENAME COLUMN "startsAt" TO "scheduledAt";

-- RenameForeignKey
ALTER TABLE "Appointment" RENAME CONSTRAINT "Appointment_staffId_fkey" TO "Appointment_practitionerId_fkey";

-- RenameIndex
ALTER INDEX "Appointment_staffId_startsAt_idx" RENAME TO "Appointment_practitionerId_scheduledAt_idx";
