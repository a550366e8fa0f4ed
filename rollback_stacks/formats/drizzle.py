"""Drizzle Kit: `meta/_journal.json` lists `<tag>.sql` files; drizzle.__drizzle_migrations(hash, created_at)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from rollback_stacks.formats.base import NUMBERED, FormatError, Listing, Migration, Sql, sha256_hex, unique

JOURNAL = "meta/_journal.json"
BREAKPOINT = "--> statement-breakpoint"


class Drizzle:
    """The journal is authoritative: its entries, in order; `.sql` files it does not list are ignored (noted).
    A migration's version is its tag number plus one (tag 0000 is version 1); plans and reports show the tags."""

    name: ClassVar[str] = "drizzle"
    table: ClassVar[str] = "drizzle.__drizzle_migrations"
    has_downs: ClassVar[bool] = False

    def detect(self, mdir: Path) -> bool:
        """A `meta/_journal.json`."""
        return (mdir / JOURNAL).is_file()

    def files(self, mdir: Path) -> dict[str, Path]:
        """The journal and every top-level `.sql` file (the listing says which ones count)."""
        out = {JOURNAL: mdir / JOURNAL} if (mdir / JOURNAL).is_file() else {}
        if mdir.is_dir():
            out.update({p.name: p for p in sorted(mdir.iterdir()) if p.is_file() and p.suffix == ".sql"})
        return out

    def version_of(self, rel: str) -> int | None:
        """The tag's number plus one (`0007_brave_fox.sql` -> 8): drizzle-kit numbers from 0000, and version 0
        means an empty schema everywhere else."""
        m = NUMBERED.match(rel.removesuffix(".sql")) if rel.endswith(".sql") and "/" not in rel else None
        return int(m.group(1)) + 1 if m else None

    def _entries(self, texts: Mapping[str, str]) -> list[dict[str, Any]]:
        raw = texts.get(JOURNAL)
        if raw is None:
            raise FormatError(f"drizzle: no {JOURNAL} (drizzle-kit writes it next to the .sql files)")
        try:
            journal = json.loads(raw)
        except ValueError as err:
            raise FormatError(f"drizzle: {JOURNAL} is not JSON ({err})") from None
        entries = journal.get("entries") if isinstance(journal, dict) else None
        if not isinstance(entries, list):
            raise FormatError(f"drizzle: {JOURNAL} has no `entries` list")
        dialect = journal.get("dialect")
        if dialect not in ("postgresql", "pg"):
            raise FormatError(f"drizzle: {JOURNAL} is for dialect {dialect!r}, not PostgreSQL")
        for i, e in enumerate(entries):
            if not (isinstance(e, dict) and isinstance(e.get("tag"), str) and isinstance(e.get("when"), int)):
                raise FormatError(f"drizzle: {JOURNAL} entries[{i}] needs a string `tag` and an integer `when`")
        return entries

    def listing(self, texts: Mapping[str, str]) -> Listing:
        """The journal's entries in its order (their `when` must grow, as the migrator compares them)."""
        out: list[Migration] = []
        for e in self._entries(texts):
            tag, rel = e["tag"], f"{e['tag']}.sql"
            m = NUMBERED.match(tag)
            if not m:
                raise FormatError(f"drizzle: journal tag {tag!r} does not start with a number")
            if rel not in texts:
                raise FormatError(f"drizzle: the journal lists {tag} but {rel} is missing")
            if out and e["when"] <= (out[-1].when or 0):
                raise FormatError(f"drizzle: journal entry {tag} has `when` {e['when']}, not after "
                                  f"{out[-1].name}'s {out[-1].when}: drizzle's migrator would skip it")
            out.append(Migration(int(m.group(1)) + 1, tag, rel, None, int(e["when"])))
        listed = {m.up for m in out}
        ignored = sorted(r for r in texts if r.endswith(".sql") and r not in listed)
        notes = [f"ignored {r}: not in {JOURNAL} (drizzle's migrator does not run it)" for r in ignored]
        return Listing(self.name, unique(self.name, out), notes)

    def pieces(self, text: str) -> list[str]:
        """The statements between `--> statement-breakpoint` markers."""
        return [p.strip() for p in text.split(BREAKPOINT) if p.strip()]

    def ensure(self) -> list[str]:
        """drizzle-orm's migrator's DDL (pg-core dialect)."""
        return ['CREATE SCHEMA IF NOT EXISTS "drizzle"',
                'CREATE TABLE IF NOT EXISTS "drizzle"."__drizzle_migrations" (id SERIAL PRIMARY KEY, '
                "hash text NOT NULL, created_at bigint)"]

    def applied(self) -> str:
        """Every row: the migrator reads the newest created_at; we check the rest too."""
        return 'SELECT hash, created_at FROM "drizzle"."__drizzle_migrations" ORDER BY created_at'

    def live_version(self, rows: Sequence[tuple[Any, ...]], listing: Listing) -> tuple[int | None, str | None]:
        """The entry whose `when` is the newest created_at (the migrator applies every later one)."""
        if not rows:
            return None, None
        newest = max(int(r[1] or 0) for r in rows)
        at = [m for m in listing.migrations if m.when == newest]
        if not at:
            return None, (f"{self.table}'s newest created_at {newest} is no journal entry's `when`: the database "
                          "was migrated from other files")
        return at[0].version, None

    def moved(self, listing: Listing, texts: Mapping[str, str], before: int | None, to: int | None) -> list[Sql]:
        """Rows (hash of the file, created_at = `when`) for exactly the entries up to `to`."""
        keep = listing.upto(to)
        out: list[Sql] = [(f"DELETE FROM {self.table} WHERE created_at > %s", (keep[-1].when if keep else -1,))]
        for m in listing.between(before, to):
            out.append((f"INSERT INTO {self.table} (hash, created_at) VALUES (%s, %s)",
                        (sha256_hex(texts[m.up]), m.when)))
        return out
