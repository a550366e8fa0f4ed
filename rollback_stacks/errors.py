"""The one error type of rollback targets: a user error naming file, line, field, expectation and fix."""

from __future__ import annotations

from pathlib import Path

from rollback.errors import RollbackError


class TargetError(RollbackError):
    """A refused rollback target, version document or stack record."""


def problem(file: Path | str, field: str, expected: str, fix: str, *, line: int | None = None,
            got: str | None = None) -> str:
    """One problem as `file:line: field: got …; expected …; fix: …`."""
    where = f"{file}:{line}" if line else f"{file}"
    what = f"{field}: " if field else ""
    found = f"got {got}; " if got else ""
    return f"{where}: {what}{found}expected {expected}; fix: {fix}"
