"""What every migration format provides: its migrations in the tool's order, their SQL, and its bookkeeping."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

Param = str | int | list[str] | None
Sql = tuple[str, tuple[Param, ...]]  # a statement and its parameters, run by the schema step
NUMBERED = re.compile(r"^(\d+)_(.+)$")


class FormatError(Exception):
    """A migrations directory (or a tool's bookkeeping) the format cannot read truthfully."""


@dataclass(frozen=True)
class Migration:
    """One migration as its tool knows it: number, name, up file and (golang-migrate only) down file."""

    version: int
    name: str
    up: str
    down: str | None = None
    when: int | None = None  # Drizzle's journal `when` (ms): what its bookkeeping compares


@dataclass(frozen=True)
class Listing:
    """A directory's migrations in the order the tool applies them, and notes on files it ignores."""

    format: str
    migrations: list[Migration]
    notes: list[str] = field(default_factory=list)

    def versions(self) -> list[int]:
        """Every migration's number, in order."""
        return [m.version for m in self.migrations]

    def find(self, version: int) -> Migration:
        """The migration with this number."""
        for m in self.migrations:
            if m.version == version:
                return m
        raise FormatError(f"no {self.format} migration has number {version}")

    def upto(self, version: int | None) -> list[Migration]:
        """Migrations applied at `version` (None or 0: none)."""
        return [m for m in self.migrations if version and m.version <= version]

    def between(self, low: int | None, high: int | None) -> list[Migration]:
        """Migrations above `low` up to and including `high`."""
        return [m for m in self.migrations if (low or 0) < m.version <= (high or 0)]

    def resolve(self, ref: str) -> int:
        """A migration's number from its number or full name (`0271_chubby_skullbuster`, a folder, a file stem)."""
        text = ref.strip()
        named = [m for m in self.migrations if m.name == text]
        if not named and text.isdigit():  # the number the tool's name starts with (Drizzle's tags start at 0000)
            named = [m for m in self.migrations if (n := NUMBERED.match(m.name)) and int(n.group(1)) == int(text)]
            if not named and int(text) == 0:
                return 0
        if len(named) > 1:
            raise FormatError(f"{text!r} names {len(named)} migrations ({', '.join(m.name for m in named)}): "
                              "pass the full name of one")
        if not named:
            shown = ", ".join(m.name for m in self.migrations[-3:]) or "none"
            raise FormatError(f"no {self.format} migration is numbered or named {text!r} (the newest: {shown})")
        return named[0].version

    def label(self, version: int | None) -> str:
        """A version as the tool names it (`0 (empty)` for none)."""
        if not version:
            return "0 (empty)"
        try:
            return self.find(version).name
        except FormatError:
            return str(version)


class Format(Protocol):
    """One migration tool's directory layout and bookkeeping table (one module per tool)."""

    name: ClassVar[str]
    table: ClassVar[str]  # the tool's bookkeeping table, for messages
    has_downs: ClassVar[bool]

    def detect(self, mdir: Path) -> bool:
        """Whether the directory looks like this tool's output."""
        ...

    def files(self, mdir: Path) -> dict[str, Path]:
        """Every file the format reads, by path relative to the directory."""
        ...

    def listing(self, texts: Mapping[str, str]) -> Listing:
        """The migrations in the tool's order, from the files' texts (relative path -> text)."""
        ...

    def version_of(self, rel: str) -> int | None:
        """The migration number of one of the format's SQL files (None for others)."""
        ...

    def pieces(self, text: str) -> list[str]:
        """A migration file as the statements its tool sends."""
        ...

    def ensure(self) -> list[str]:
        """DDL creating the bookkeeping table as the tool creates it (idempotent)."""
        ...

    def applied(self) -> str:
        """A query returning the bookkeeping rows that `live_version` reads (run only when the table exists)."""
        ...

    def live_version(self, rows: Sequence[tuple[Any, ...]], listing: Listing) -> tuple[int | None, str | None]:
        """(version, problem): the version the tool's rows say is applied; a problem when they cannot be trusted."""
        ...

    def moved(self, listing: Listing, texts: Mapping[str, str], before: int | None, to: int | None) -> list[Sql]:
        """Bookkeeping statements that make the tool's table say exactly the migrations up to `to` are applied,
        given that it said `before`."""
        ...


def sha256_hex(text: str) -> str:
    """sha256 (hex) of a file's text as the tools hash it (UTF-8 bytes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def numbered_files(mdir: Path, pattern: re.Pattern[str]) -> dict[str, Path]:
    """Top-level files of a directory whose names match pattern, by name."""
    if not mdir.is_dir():
        return {}
    return {p.name: p for p in sorted(mdir.iterdir()) if p.is_file() and pattern.match(p.name)}


def unique(fmt: str, migrations: list[Migration]) -> list[Migration]:
    """The migrations in version order, refusing two that share a number (naming both)."""
    seen: dict[int, Migration] = {}
    for m in migrations:
        if m.version in seen:
            raise FormatError(f"{fmt}: migrations {seen[m.version].name} and {m.name} share a number: "
                              "rename one so every migration has its own number")
        seen[m.version] = m
    return sorted(migrations, key=lambda m: m.version)


def prefix_applied(listing: Listing, applied: set[int], table: str) -> tuple[int | None, str | None]:
    """The version when `applied` is exactly the migrations up to its newest; else a problem naming the gap."""
    known = set(listing.versions())
    strangers = sorted(applied - known)
    if strangers:
        return None, (f"{table} lists migration(s) {', '.join(map(str, strangers[:3]))} that the directory does not "
                      "have: the database is ahead of (or apart from) these files")
    if not applied:
        return None, None
    top = max(applied)
    missing = [m.name for m in listing.upto(top) if m.version not in applied]
    if missing:
        return top, (f"{table} marks {listing.label(top)} applied but not {', '.join(missing[:3])} before it: "
                     "apply or resolve those with the tool first")
    return top, None
