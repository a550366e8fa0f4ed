"""Supabase CLI: `supabase/migrations/<timestamp>_<name>.sql`; supabase_migrations.schema_migrations rows."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pglast import parser

from rollback_stacks.formats.base import Listing, Migration, Sql, numbered_files, prefix_applied, unique

FILE = re.compile(r"^(\d+)_(.*)\.sql$")  # the CLI's own pattern


class Supabase:
    """A row per applied file: version (the file's digits, as text), name, and the statements it ran."""

    name: ClassVar[str] = "supabase"
    table: ClassVar[str] = "supabase_migrations.schema_migrations"
    has_downs: ClassVar[bool] = False

    def detect(self, mdir: Path) -> bool:
        """`<digits>_<name>.sql` files (and no golang-migrate `.up.sql` among them)."""
        found = numbered_files(mdir, FILE)
        return bool(found) and not any(n.endswith((".up.sql", ".down.sql")) for n in found)

    def files(self, mdir: Path) -> dict[str, Path]:
        """The migration files."""
        return numbered_files(mdir, FILE)

    def version_of(self, rel: str) -> int | None:
        """The file's digits."""
        m = FILE.match(rel)
        return int(m.group(1)) if m and "/" not in rel else None

    def listing(self, texts: Mapping[str, str]) -> Listing:
        """Files in version order."""
        out = [Migration(int(m.group(1)), rel.removesuffix(".sql"), rel)
               for rel in sorted(texts) if (m := FILE.match(rel)) and "/" not in rel]
        return Listing(self.name, unique(self.name, out))

    def pieces(self, text: str) -> list[str]:
        """The file's statements (split by PostgreSQL's parser), as the CLI stores them."""
        try:
            raw = parser.parse_sql(text)
        except parser.ParseError:
            return [text]
        return [text[s.stmt_location or 0:(s.stmt_location or 0) + s.stmt_len if s.stmt_len else len(text)].strip()
                for s in raw]

    def ensure(self) -> list[str]:
        """The table as the CLI creates it."""
        return ["CREATE SCHEMA IF NOT EXISTS supabase_migrations",
                "CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)",
                "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]",
                "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text"]

    def applied(self) -> str:
        """The versions."""
        return "SELECT version FROM supabase_migrations.schema_migrations ORDER BY version"

    def live_version(self, rows: Sequence[tuple[Any, ...]], listing: Listing) -> tuple[int | None, str | None]:
        """The newest version, when every file before it is applied too."""
        bad = [r[0] for r in rows if not str(r[0]).isdigit()]
        if bad:
            return None, f"{self.table} has a version {bad[0]!r} that is not a number"
        return prefix_applied(listing, {int(r[0]) for r in rows}, self.table)

    def moved(self, listing: Listing, texts: Mapping[str, str], before: int | None, to: int | None) -> list[Sql]:
        """Going up: a row per file (as `migration up` writes it); going down: those rows removed."""
        if (to or 0) >= (before or 0):
            return [(f"INSERT INTO {self.table} (version, name, statements) VALUES (%s, %s, %s)",
                     (m.name.split("_", 1)[0], m.name.split("_", 1)[1] if "_" in m.name else "",
                      self.pieces(texts[m.up]))) for m in listing.between(before, to)]
        return [(f"DELETE FROM {self.table} WHERE version = ANY(%s)",
                 ([m.name.split("_", 1)[0] for m in listing.between(to, before)],))]
