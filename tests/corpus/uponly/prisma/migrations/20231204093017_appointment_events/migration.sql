-- CreateTable
CREATE TABLE "AppointmentEvent" (
    "id" BIGSERIAL NOT NULL,
    "appointmentId" TEXT NOT NULL,
    "fromStatus" "AppointmentStatus",
    "toStatus" "AppointmentStatus" NOT NULL,
    "changedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AppointmentEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AppointmentEvent_appointmentId_changedAt_idx" ON "AppointmentEvent"("appointmentId", "changedAt");

-- AddForeignKey
ALTER TABLE "AppointmentEvent" ADD CONSTRAINT "AppointmentEvent_appointmentId_fkey" FOREIGN KEY ("appointmentId") REFERENCES "Appointment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written below this line (--create-only): status history is kept by the database, not the client.
CREATE OR REPLACE FUNCTION "log_appointment_status"() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW."status" IS DISTINCT FROM OLD."status" THEN
        INSERT INTO "AppointmentEvent" ("appointmentId", "fromStatus", "toStatus")
        VALUES (NEW."id", CASE WHEN TG_OP = 'UPDATE' THEN OLD."status" END, NEW."status");
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "Appointment_status_log"
AFTER INSERT OR UPDATE OF "status" ON "Appointment"
FOR EACH ROW EXECUTE FUNCTION "log_appointment_status"();

-- Read model for the front desk (mapped with `view UpcomingAppointment` under previewFeatures = ["views"])
CREATE VIEW "UpcomingAppointment" AS
SELECT a."id",
       a."clinicId",
       a."startsAt",
       a."status",
       p."firstName" || ' ' || p."lastName" AS "patientName",
       s."name" AS "staffName"
FROM "Appointment" a
JOIN "Patient" p ON p."id" = a."patientId"
JOIN "Staff" s ON s."id" = a."staffId"
WHERE a."status" IN ('SCHEDULED', 'CHECKED_IN');
