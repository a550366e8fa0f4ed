"""A generated way back as plain data: hazards, statements and the plan, each to and from JSON-able values.

They travel through Pulumi resource properties, where numbers come back as doubles: from_json turns them into
ints again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.providers.wayback.catalog import Snapshot

DELETES_DATA = "DELETES_DATA"
ACCESS_EXCLUSIVE = "ACQUIRES_ACCESS_EXCLUSIVE_LOCK"


@dataclass(frozen=True)
class Hazard:
    """What running a statement risks (pg-schema-diff's kinds, e.g. DELETES_DATA, INDEX_BUILD)."""

    kind: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """As a plain dict."""
        return {"kind": self.kind, "message": self.message}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Hazard:
        """From to_json's dict."""
        return cls(str(data["kind"]), str(data.get("message") or ""))


@dataclass(frozen=True)
class Statement:
    """One step of the way back, run under its own timeouts; transactional ones inside a transaction."""

    sql: str
    hazards: tuple[Hazard, ...]
    statement_timeout_ms: int
    lock_timeout_ms: int
    transactional: bool

    def to_json(self) -> dict[str, Any]:
        """As a plain dict."""
        return {"sql": self.sql, "hazards": [h.to_json() for h in self.hazards],
                "statement_timeout_ms": self.statement_timeout_ms, "lock_timeout_ms": self.lock_timeout_ms,
                "transactional": self.transactional}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Statement:
        """From to_json's dict."""
        return cls(str(data["sql"]), tuple(Hazard.from_json(h) for h in data.get("hazards") or ()),
                   int(data["statement_timeout_ms"]), int(data["lock_timeout_ms"]), bool(data["transactional"]))


@dataclass(frozen=True)
class WayBack:
    """The statements from the live schema to the target's, proven on a copy, or why there is no way back.

    live/target are the snapshots the digests hash (apply names the differences with them), and the exclusions
    they were taken with (apply takes the live snapshot again the same way).
    """

    statements: list[Statement]
    live_digest: str
    target_digest: str
    notes: list[str]
    refused: str | None
    live: Snapshot = field(default_factory=dict)
    target: Snapshot = field(default_factory=dict)
    exclude_schemas: tuple[str, ...] = ()
    exclude_tables: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """As a plain dict."""
        return {"statements": [s.to_json() for s in self.statements], "live_digest": self.live_digest,
                "target_digest": self.target_digest, "notes": list(self.notes), "refused": self.refused,
                "live": self.live, "target": self.target, "exclude_schemas": list(self.exclude_schemas),
                "exclude_tables": list(self.exclude_tables)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WayBack:
        """From to_json's dict."""
        return cls([Statement.from_json(s) for s in data.get("statements") or ()], str(data["live_digest"]),
                   str(data["target_digest"]), [str(n) for n in data.get("notes") or ()], data.get("refused"),
                   dict(data.get("live") or {}), dict(data.get("target") or {}),
                   tuple(data.get("exclude_schemas") or ()), tuple(data.get("exclude_tables") or ()))

    def hazards(self, kind: str) -> list[str]:
        """The messages of every hazard of this kind, in statement order."""
        return [h.message for s in self.statements for h in s.hazards if h.kind == kind]
