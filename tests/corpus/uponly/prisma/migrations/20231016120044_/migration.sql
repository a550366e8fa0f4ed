-- AlterTable
ALTER TABLE "Appointment" ALTER COLUMN "durationMinutes" SET DEFAULT 20;

-- AlterTable
ALTER TABLE "Clinic" ADD COLUMN     "phone" TEXT;
