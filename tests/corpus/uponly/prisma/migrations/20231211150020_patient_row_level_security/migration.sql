-- Hand-written: tenant isolation for patient records (the client sets app.current_clinic_id per transaction)
ALTER TABLE "Patient" ENABLE ROW LEVEL SECURITY;

-- Rows are visible only to the clinic named in the session setting
CREATE POLICY tenant_isolation_policy ON "Patient" USING ("clinicId" = current_setting('app.current_clinic_id', TRUE)::text);

-- Escape hatch for back-office jobs
CREATE POLICY bypass_rls_policy ON "Patient" USING (current_setting('app.bypass_rls', TRUE)::text = 'on');
