"""golang-migrate: `<version>_<name>.up.sql` / `.down.sql`, one row in schema_migrations(version, dirty)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from rollback_stacks.formats.base import FormatError, Listing, Migration, Sql, numbered_files

FILE = re.compile(r"^(\d+)_(.*)\.(up|down)\.sql$")


class GolangMigrate:
    """Versions are the files' integer prefixes (any width, gaps allowed); up and down names may differ."""

    name: ClassVar[str] = "golang-migrate"
    table: ClassVar[str] = "schema_migrations"
    has_downs: ClassVar[bool] = True

    def detect(self, mdir: Path) -> bool:
        """Any `N_name.up.sql` or `.down.sql` file."""
        return bool(numbered_files(mdir, FILE))

    def files(self, mdir: Path) -> dict[str, Path]:
        """The up and down files."""
        return numbered_files(mdir, FILE)

    def version_of(self, rel: str) -> int | None:
        """The integer prefix of an up or down file."""
        m = FILE.match(rel.rsplit("/", 1)[-1])
        return int(m.group(1)) if m else None

    def listing(self, texts: Mapping[str, str]) -> Listing:
        """Versions with their up and down files; two up (or down) files for one version are refused."""
        found: dict[int, dict[str, str]] = {}
        for rel in sorted(texts):
            m = FILE.match(rel.rsplit("/", 1)[-1])
            if not m:
                continue
            slot = found.setdefault(int(m.group(1)), {})
            if m.group(3) in slot:
                raise FormatError(f"version {m.group(1)} has two {m.group(3)} files: {slot[m.group(3)]} and {rel} "
                                  "(golang-migrate refuses duplicate migration files too)")
            slot[m.group(3)] = rel
        out = []
        for version in sorted(found):
            up, down = found[version].get("up"), found[version].get("down")
            name = (up or down or "").rsplit("/", 1)[-1].removesuffix(".up.sql").removesuffix(".down.sql")
            out.append(Migration(version, name, up or "", down))
        return Listing(self.name, out)

    def pieces(self, text: str) -> list[str]:
        """golang-migrate sends the whole file as one query."""
        return [text]

    def ensure(self) -> list[str]:
        """golang-migrate's table."""
        return ["CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, "
                "dirty boolean NOT NULL)"]

    def applied(self) -> str:
        """Its one row."""
        return "SELECT version, dirty FROM schema_migrations LIMIT 1"

    def live_version(self, rows: Sequence[tuple[Any, ...]], listing: Listing) -> tuple[int | None, str | None]:
        """The row's version (a negative one is golang-migrate's nil); dirty is a problem."""
        if not rows:
            return None, None
        version = None if rows[0][0] < 0 else int(rows[0][0])
        if rows[0][1]:
            return version, (f"schema_migrations is dirty at version {version}: a migration stopped midway and the "
                             "schema may be half-applied. Inspect the database (or restore the safety snapshot), "
                             "make it match a known version V, then mark it clean with `migrate force V` "
                             "(UPDATE schema_migrations SET version = V, dirty = false) and run `up` again")
        return version, None

    def moved(self, listing: Listing, texts: Mapping[str, str], before: int | None, to: int | None) -> list[Sql]:
        """golang-migrate's SetVersion: one clean row, or none for the nil version."""
        out: list[Sql] = [("DELETE FROM schema_migrations", ())]
        if to is not None:
            out.append(("INSERT INTO schema_migrations (version, dirty) VALUES (%s, false)", (int(to),)))
        return out
