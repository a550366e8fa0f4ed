"""What policy loading works on: one parsed policy document (Source) and a rule being merged from several (Entry),
shared by the loader (rollback.policy.load) and the whole-policy checks (rollback.policy.checks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rollback.policy.model import PolicyDocument
from rollback_stacks import docs


@dataclass(frozen=True)
class Source:
    """One parsed policy document and how it is shown in messages."""

    shown: str
    doc: docs.Document
    parsed: PolicyDocument

    def at(self, *loc: str | int) -> str:
        """file:line of a field."""
        line = self.doc.line(loc)
        return f"{self.shown}:{line}" if line else self.shown


@dataclass
class Entry:
    """A rule being merged: its fields so far and the file:line of each."""

    fields: dict[str, Any]
    origin: str
    at: dict[str, str] = field(default_factory=dict)
    when_source: tuple[Source, str, int] | None = None
