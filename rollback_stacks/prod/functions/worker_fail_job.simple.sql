-- worker_fail_job (v1.3.0, v1.4.2): simple fail without retry logic (seed 000's known-good body).
CREATE OR REPLACE FUNCTION public.worker_fail_job(p_job_id uuid, p_error text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  UPDATE public.worker_jobs
  SET status = 'failed', error = p_error, updated_at = now()
  WHERE id = p_job_id;
END $$;
