"""Migration formats: one module per tool behind one interface (rollback_stacks.formats.base.Format)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rollback_stacks.formats.base import Format, FormatError, Listing, Migration, Sql
from rollback_stacks.formats.drizzle import Drizzle
from rollback_stacks.formats.golang_migrate import GolangMigrate
from rollback_stacks.formats.prisma import Prisma
from rollback_stacks.formats.supabase import Supabase

FORMATS: dict[str, Format] = {f.name: f for f in (GolangMigrate(), Drizzle(), Prisma(), Supabase())}
DEFAULT = "golang-migrate"

__all__ = ["DEFAULT", "FORMATS", "Format", "FormatError", "Listing", "Migration", "Sql", "detect", "get", "read",
           "recorded_name"]


def get(name: str) -> Format:
    """The format named `name`."""
    try:
        return FORMATS[name]
    except KeyError:
        raise FormatError(f"unknown migration format {name!r} (known: {', '.join(FORMATS)})") from None


def detect(mdir: Path) -> Format:
    """The one format the directory is written in; none or several is an error saying how to choose."""
    # Drizzle and Prisma folders are unambiguous; Supabase's plain numbered .sql files are the fallback.
    for name in ("drizzle", "prisma", "golang-migrate", "supabase"):
        if FORMATS[name].detect(mdir):
            return FORMATS[name]
    raise FormatError(f"{mdir}: no migrations of a known format (golang-migrate N_name.up.sql, Drizzle "
                      "meta/_journal.json, Prisma <timestamp>_name/migration.sql, Supabase <timestamp>_name.sql)")


def recorded_name(fmt_name: str, files: Iterable[str], version: int) -> str | None:
    """The tool's name of a recorded version (from the recorded migration files' paths), or None."""
    fmt = get(fmt_name)
    for rel in files:
        if fmt.version_of(rel) == version and not rel.endswith(".down.sql"):
            return rel.split("/", 1)[0] if "/" in rel else rel.removesuffix(".up.sql").removesuffix(".sql")
    return None


def read(fmt: Format, mdir: Path) -> tuple[dict[str, str], Listing]:
    """The format's files of a directory (exact text: no newline translation, as the tools hash bytes) and listing."""
    texts = {rel: path.read_bytes().decode("utf-8") for rel, path in fmt.files(mdir).items()}
    return texts, fmt.listing(texts)
