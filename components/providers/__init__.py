"""Dynamic providers: the steps that act on the sandbox/production services through the real engine."""
