"""User-facing errors: rendered as one message and exit code 1, never as a traceback.

The base class lives in the lowest layer (rollback_stacks.errors), so the stack records raise it without importing
the verbs; it is re-exported here for the verbs.
"""

from rollback_stacks.errors import RollbackError

__all__ = ["RollbackError"]
