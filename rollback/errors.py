"""User-facing errors: rendered as one message and exit code 1, never as a traceback."""


class RollbackError(Exception):
    """An error the operator can fix; its message says what and how."""

    exit_code = 1
