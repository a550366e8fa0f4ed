-- AlterEnum
ALTER TYPE "AppointmentStatus" ADD VALUE 'NO_SHOW';

-- AlterTable
ALTER TABLE "Appointment" ADD COLUMN     "isTelehealth" BOOLEAN NOT NULL DEFAULT false,
ALTER COLUMN "durationMinutes" SET DEFAULT 30;
