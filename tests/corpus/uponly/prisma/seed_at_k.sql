-- Rows valid at K = 20240108110205_drop_patient_fax (9th of 12). Run after replaying the first 9 folders,
-- before 20240115142233_rename_staff_to_practitioner, 20240122103311_no_show_status and
-- 20240129160745_patient_contacts.
-- At K: table "Staff" (renamed "Practitioner" after K), "Appointment"."staffId" / "startsAt" (renamed
-- "practitionerId" / "scheduledAt" after K). "Patient"."fax" is already gone.
-- The seed runs as the tables' owner, so the RLS policies on "Patient" do not filter it.
INSERT INTO "Clinic" ("id", "name", "timezone", "phone", "createdAt", "updatedAt") VALUES
    ('clx0clinic0north000000001', 'North Street Clinic', 'Europe/Berlin', '+49 30 1234567', '2023-09-20 08:00:00', '2023-09-20 08:00:00'),
    ('clx0clinic0lake0000000002', 'Lakeside Physio', 'UTC', NULL, '2023-10-01 09:00:00', '2023-11-02 10:00:00');

INSERT INTO "Staff" ("id", "clinicId", "email", "name", "role", "active", "createdAt") VALUES
    ('clx0staff0okafor000000001', 'clx0clinic0north000000001', 'n.okafor@north.example', 'Dr. Ngozi Okafor', 'PRACTITIONER', true, '2023-09-20 08:10:00'),
    ('clx0staff0berg0000000002', 'clx0clinic0north000000001', 'desk@north.example', 'Jonas Berg', 'RECEPTION', true, '2023-09-20 08:12:00'),
    ('clx0staff0silva000000003', 'clx0clinic0lake0000000002', 'r.silva@lake.example', 'Rita Silva', 'PRACTITIONER', false, '2023-10-01 09:05:00');

INSERT INTO "Room" ("id", "clinicId", "label", "floor") VALUES
    ('clx0room0a10000000000001', 'clx0clinic0north000000001', 'A1', 1),
    ('clx0room0gym0000000000002', 'clx0clinic0lake0000000002', 'Gym', NULL);

INSERT INTO "Patient" ("id", "clinicId", "firstName", "lastName", "dateOfBirth", "email", "phone", "createdAt", "updatedAt") VALUES
    ('clx0pat0meyer00000000001', 'clx0clinic0north000000001', 'Anna', 'Meyer', '1984-02-29', 'anna@mail.example', '+49 170 0000001', '2023-10-05 10:00:00', '2023-10-05 10:00:00'),
    ('clx0pat0nguyen0000000002', 'clx0clinic0north000000001', 'Bao', 'Nguyen', NULL, 'bao@mail.example', NULL, '2023-10-06 11:00:00', '2023-12-01 09:00:00'),
    ('clx0pat0ortiz000000000003', 'clx0clinic0lake0000000002', 'Carla', 'Ortiz', '1990-07-14', NULL, '+34 600 000 003', '2023-11-10 15:00:00', '2023-11-10 15:00:00');

-- "status" is set on insert and updated below, so the status trigger writes "AppointmentEvent" rows too.
INSERT INTO "Appointment" ("id", "clinicId", "patientId", "staffId", "roomId", "startsAt", "status", "reason",
                           "durationMinutes", "notes", "createdAt", "updatedAt") VALUES
    ('clx0appt0000000000000001', 'clx0clinic0north000000001', 'clx0pat0meyer00000000001', 'clx0staff0okafor000000001',
     'clx0room0a10000000000001', '2024-01-09 09:00:00', 'SCHEDULED', 'annual check-up', 20, NULL, '2023-12-20 10:00:00', '2023-12-20 10:00:00'),
    ('clx0appt0000000000000002', 'clx0clinic0north000000001', 'clx0pat0nguyen0000000002', 'clx0staff0okafor000000001',
     NULL, '2024-01-09 09:30:00', 'SCHEDULED', 'follow-up', 45, 'bring lab results', '2023-12-21 10:00:00', '2023-12-21 10:00:00'),
    ('clx0appt0000000000000003', 'clx0clinic0lake0000000002', 'clx0pat0ortiz000000000003', 'clx0staff0silva000000003',
     'clx0room0gym0000000000002', '2023-12-15 16:00:00', 'SCHEDULED', 'knee rehab', 60, NULL, '2023-12-01 12:00:00', '2023-12-15 17:00:00');

UPDATE "Appointment" SET "status" = 'COMPLETED' WHERE "id" = 'clx0appt0000000000000003';

INSERT INTO "Invoice" ("id", "appointmentId", "amount", "currency", "status", "issuedAt", "createdAt") VALUES
    (1, 'clx0appt0000000000000003', 85.50, 'EUR', 'SENT', '2023-12-15 17:05:00', '2023-12-15 17:05:00');
SELECT setval(pg_get_serial_sequence('"Invoice"', 'id'), 1);
