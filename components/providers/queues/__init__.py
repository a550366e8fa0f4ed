"""Queue backends of the job-control steps, one module each: `pause`, `resume` and `running` (jobs in flight)."""
