"""golang-migrate directory semantics: parse <version>_<name>.{up,down}.sql and plan up/down steps (what their SQL
destroys: components.providers.data_loss).

As golang-migrate: the version is the file's integer prefix of any width (1_, 0001_, 20220123205937_), versions need
not be contiguous, and a version's up and down files may have different names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

FILE_RE = re.compile(r"^(\d+)_(.*)\.(up|down)\.sql$")


class MigrationError(Exception):
    """The migrations cannot take the database to the target (missing file, unknown version, ...)."""


@dataclass(frozen=True)
class Migration:
    """One version of a golang-migrate directory and its up/down file names (which may differ)."""

    version: int
    up: str | None = None
    down: str | None = None

    @property
    def name(self) -> str:
        """The version's file name without the direction suffix, for messages."""
        file = (self.up or self.down or f"{self.version}_.up.sql").rsplit("/", 1)[-1]
        return file.removesuffix(".up.sql").removesuffix(".down.sql")


class Versioned(Protocol):
    """A migration as planning needs it (golang-migrate's Migration here, or a format's)."""

    @property
    def version(self) -> int: ...
    @property
    def up(self) -> str | None: ...
    @property
    def down(self) -> str | None: ...
    @property
    def name(self) -> str: ...


GENERATED = "(generated way back)"  # the file name of a step whose SQL is generated from the target's schema


@dataclass(frozen=True)
class Step:
    """Run `file`; afterwards the database is at `to` (None: no version row, as after the last down)."""

    file: str
    direction: str
    to: int | None

    @property
    def generated(self) -> bool:
        """Whether the step's SQL is generated (no down file exists for the way back)."""
        return self.file == GENERATED


@dataclass
class Plan:
    """How to move from `current` to `target`."""

    current: int | None
    target: int
    steps: list[Step] = field(default_factory=list)

    def describe(self) -> dict[str, object]:
        """The preview form: from, to, direction and files in order."""
        direction = "none" if not self.steps else self.steps[0].direction
        return {"from": self.current or 0, "to": self.target, "direction": direction,
                "files": [s.file for s in self.steps]}


def version_of(file: str) -> int | None:
    """The golang-migrate version of a file name (its integer prefix), or None for other files."""
    m = FILE_RE.match(file.rsplit("/", 1)[-1])
    return int(m.group(1)) if m else None


def parse(files: list[str]) -> list[Migration]:
    """Migrations by version from file names (others ignored); two up (or down) files for one version is an error."""
    found: dict[int, Migration] = {}
    for file in sorted(files):
        m = FILE_RE.match(file.rsplit("/", 1)[-1])
        if not m:
            continue
        version, kind = int(m.group(1)), m.group(3)
        old = found.get(version, Migration(version))
        taken = old.up if kind == "up" else old.down
        if taken is not None:
            raise MigrationError(f"version {version} has two {kind} files: {taken} and {file} "
                                 "(golang-migrate refuses duplicate migration files too)")
        found[version] = Migration(version, file, old.down) if kind == "up" else Migration(version, old.up, file)
    return [found[v] for v in sorted(found)]


def plan(migrations: Sequence[Versioned], current: int | None, target: int, *, generate: bool = False) -> Plan:
    """The steps from current to target (up: ascending up files, down: descending down files); with `generate`
    (an up-only history), the way down is one generated step straight to the target."""
    versions = [m.version for m in migrations]
    if target and target not in versions:
        raise MigrationError(f"target schema version {target} has no migration file (known: {versions})")
    if current and current not in versions:
        raise MigrationError(f"the database is at schema version {current}, which the migrations directory "
                             f"does not contain (known: {versions})")
    result = Plan(current, target)
    now = current or 0
    if target > now:
        for m in migrations:
            if now < m.version <= target:
                if m.up is None:
                    raise MigrationError(f"migration {m.name} has no .up.sql file")
                result.steps.append(Step(m.up, "up", m.version))
    elif target < now and generate:
        result.steps.append(Step(GENERATED, "down", target or None))
    elif target < now:
        below = [m for m in migrations if m.version <= now]
        for i in range(len(below) - 1, -1, -1):
            m = below[i]
            if m.version <= target:
                break
            if m.down is None:
                raise MigrationError(f"refusing to go below schema version {m.version}: {m.name}.down.sql is missing "
                                     "(restore the snapshot taken before it instead)")
            result.steps.append(Step(m.down, "down", below[i - 1].version if i > 0 else None))
    return result
