-- AlterTable
ALTER TABLE "Appointment" ADD COLUMN     "durationMinutes" INTEGER NOT NULL DEFAULT 30,
ADD COLUMN     "notes" TEXT;

-- Added by hand (schema.prisma cannot express CHECK constraints): an appointment lasts 1 min .. 8 h
ALTER TABLE "Appointment" ADD CONSTRAINT "Appointment_durationMinutes_check" CHECK ("durationMinutes" > 0 AND "durationMinutes" <= 480);
