-- worker_fail_job (v1.5.0): retries with exponential backoff, dead-letters the job after max_attempts.
CREATE OR REPLACE FUNCTION public.worker_fail_job(p_job_id uuid, p_error text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  v_job public.worker_jobs%ROWTYPE;
BEGIN
  UPDATE public.worker_jobs
  SET attempts = attempts + 1, error = p_error, last_error_at = now(), updated_at = now()
  WHERE id = p_job_id
  RETURNING * INTO v_job;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF v_job.attempts < v_job.max_attempts THEN
    UPDATE public.worker_jobs
    SET status = 'pending', started_at = NULL,
        next_run_at = now() + make_interval(secs => power(2, v_job.attempts))
    WHERE id = p_job_id;
  ELSE
    UPDATE public.worker_jobs SET status = 'failed' WHERE id = p_job_id;
    INSERT INTO public.dead_letter_queue (job_id, kind, payload, error, attempts)
    VALUES (v_job.id, v_job.kind, v_job.payload, p_error, v_job.attempts);
  END IF;
END $$;
