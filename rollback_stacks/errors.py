"""The errors an operator can fix, and the one error type of rollback targets.

`RollbackError` is defined here, in the lowest layer, so that every layer raises the same user error
(`rollback.errors` re-exports it for the verbs); a TargetError names file, line, field, expectation and fix.
"""

from __future__ import annotations

from pathlib import Path


class RollbackError(Exception):
    """An error the operator can fix; its message says what and how (one line on stderr, exit code 1)."""

    exit_code = 1


class TargetError(RollbackError):
    """A refused rollback target, version document or stack record."""


class SettingError(TargetError):
    """A rollback:* value of Pulumi.<stack>.yaml that cannot be used."""


def problem(file: Path | str, field: str, expected: str, fix: str, *, line: int | None = None,
            got: str | None = None) -> str:
    """One problem as `file:line: field: got …; expected …; fix: …`."""
    where = f"{file}:{line}" if line else f"{file}"
    what = f"{field}: " if field else ""
    found = f"got {got}; " if got else ""
    return f"{where}: {what}{found}expected {expected}; fix: {fix}"
