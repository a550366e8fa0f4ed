"""Prisma Migrate: `<timestamp>_<name>/migration.sql` folders; _prisma_migrations rows per applied migration."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from rollback_stacks.formats.base import (
    FormatError,
    Listing,
    Migration,
    Sql,
    prefix_applied,
    sha256_hex,
    unique,
)

LOCK = "migration_lock.toml"
SCRIPT = "migration.sql"
FOLDER = re.compile(r"^(\d+)_(.*)$")  # Prisma accepts an empty name: `20231016120044_`


class Prisma:
    """A migration counts as applied when its row has finished_at set and rolled_back_at null (Prisma's rule)."""

    name: ClassVar[str] = "prisma"
    table: ClassVar[str] = "_prisma_migrations"
    has_downs: ClassVar[bool] = False

    def detect(self, mdir: Path) -> bool:
        """A `migration_lock.toml`, or folders holding `migration.sql`."""
        return (mdir / LOCK).is_file() or bool(self.files(mdir))

    def files(self, mdir: Path) -> dict[str, Path]:
        """Every `<folder>/migration.sql` whose folder starts with a number."""
        if not mdir.is_dir():
            return {}
        return {f"{d.name}/{SCRIPT}": d / SCRIPT for d in sorted(mdir.iterdir())
                if d.is_dir() and FOLDER.match(d.name) and (d / SCRIPT).is_file()}

    def version_of(self, rel: str) -> int | None:
        """The folder's number (its timestamp)."""
        folder, _, file = rel.partition("/")
        m = FOLDER.match(folder)
        return int(m.group(1)) if m and file == SCRIPT else None

    def listing(self, texts: Mapping[str, str]) -> Listing:
        """Folders in name order (Prisma sorts them by name; the timestamps make that chronological)."""
        out = []
        for rel in sorted(texts):
            folder, _, file = rel.partition("/")
            m = FOLDER.match(folder)
            if m and file == SCRIPT:
                out.append(Migration(int(m.group(1)), folder, rel))
        if [m.name for m in out] != [m.name for m in sorted(out, key=lambda m: m.version)]:
            raise FormatError("prisma: folder names sort differently from their numbers: Prisma applies them by name")
        return Listing(self.name, unique(self.name, out))

    def pieces(self, text: str) -> list[str]:
        """Prisma sends migration.sql as one script."""
        return [text]

    def ensure(self) -> list[str]:
        """The table as Prisma's schema engine creates it."""
        return ['CREATE TABLE IF NOT EXISTS "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY NOT NULL, '
                '"checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ, "migration_name" VARCHAR(255) NOT NULL, '
                '"logs" TEXT, "rolled_back_at" TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), '
                '"applied_steps_count" INTEGER NOT NULL DEFAULT 0)']

    def applied(self) -> str:
        """Each row's name and state."""
        return ('SELECT migration_name, finished_at IS NOT NULL, rolled_back_at IS NOT NULL, checksum '
                'FROM "_prisma_migrations" ORDER BY started_at')

    def live_version(self, rows: Sequence[tuple[Any, ...]], listing: Listing) -> tuple[int | None, str | None]:
        """The newest applied folder; a failed one (not finished, not rolled back) is a problem, as for Prisma."""
        failed = [r[0] for r in rows if not r[1] and not r[2]]
        if failed:
            return None, (f"_prisma_migrations has a failed migration {failed[0]}: resolve it first "
                          f"(`prisma migrate resolve --rolled-back {failed[0]}` or `--applied`)")
        names = {m.name: m.version for m in listing.migrations}
        live = {r[0] for r in rows if r[1] and not r[2]}
        unknown = sorted(live - set(names))
        if unknown:
            return None, (f"_prisma_migrations lists {unknown[0]} as applied, but the migrations folder has no such "
                          "folder: the database is ahead of (or apart from) these files")
        return prefix_applied(listing, {names[n] for n in live}, self.table)

    def moved(self, listing: Listing, texts: Mapping[str, str], before: int | None, to: int | None) -> list[Sql]:
        """Going up: a finished row per migration; going down: rolled_back_at set, as `migrate resolve` does."""
        if (to or 0) >= (before or 0):
            return [('INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, '
                     "rolled_back_at, started_at, applied_steps_count) VALUES (gen_random_uuid()::text, %s, now(), "
                     "%s, NULL, NULL, now(), 1)", (sha256_hex(texts[m.up]), m.name))
                    for m in listing.between(before, to)]
        names = [m.name for m in listing.between(to, before)]
        return [('UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = ANY(%s) '
                 "AND rolled_back_at IS NULL", (names,))]
