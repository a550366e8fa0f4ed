"""A new stack's record: an empty, valid `rollback_stacks/<stack>/` over an application's own migrations."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rollback_stacks import consistency, formats, store, sums
from rollback_stacks.errors import TargetError, problem


@dataclass(frozen=True)
class NewStack:
    """What `init` made: the stack directory, the migrations directory (repository-relative) and how it got there."""

    dir: Path
    migrations_dir: str
    copied: bool
    versions: list[int]
    format: str = formats.DEFAULT
    notes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


def _versions(source: Path) -> list[int]:
    """The golang-migrate versions of a directory, refusing what golang-migrate refuses (two up files for one)."""
    if not source.is_dir():
        raise TargetError(problem(source, "--migrations-dir", "an existing directory of golang-migrate files",
                                  "pass the application's migrations directory (e.g. db/migrations)",
                                  got="no such directory"))
    files = consistency.migration_files(source)
    _, problems = consistency.migrations_upto(source, max((consistency.migration_version(n) or 0 for n in files),
                                                          default=0))
    if problems:
        raise TargetError(problem(source, "--migrations-dir", "a valid golang-migrate directory",
                                  "fix the directory first", got="; ".join(problems)))
    return sorted({v for n in files if (v := consistency.migration_version(n)) is not None})


def _listing(source: Path, fmt_name: str | None) -> formats.Listing:
    """The directory's migrations in the format asked for, or the one detected."""
    if not source.is_dir():
        raise TargetError(problem(source, "--migrations-dir", "an existing directory of migrations",
                                  "pass the application's migrations directory (e.g. drizzle/, prisma/migrations, "
                                  "supabase/migrations, db/migrations)", got="no such directory"))
    try:
        fmt = formats.get(fmt_name) if fmt_name else formats.detect(source)
        if fmt.name == formats.DEFAULT:
            _versions(source)  # golang-migrate's own refusals, worded as before
        _, listing = formats.read(fmt, source)
    except formats.FormatError as err:
        raise TargetError(problem(source, "--format" if fmt_name else "--migrations-dir",
                                  "a directory its tool can run", "fix the directory, or pass --format "
                                  f"({', '.join(formats.FORMATS)})", got=str(err))) from None
    except UnicodeDecodeError as err:
        raise TargetError(problem(source, "--migrations-dir", "UTF-8 migration files", "re-encode the file",
                                  got=str(err))) from None
    if fmt_name and not listing.migrations:
        raise TargetError(problem(source, "--format", f"{fmt_name} migrations in the directory",
                                  "pass the format its tool wrote (or omit --format to detect it)",
                                  got=f"no {fmt_name} migration"))
    return listing


def create(stack: str, source: Path, root: Path | None = None, *, fmt: str | None = None,
           preamble: Path | None = None) -> NewStack:
    """Create rollback_stacks/<stack>/ with an empty sums file; migrations inside the repository are referenced where
    they are, others are copied into the stack. Refused (nothing written) if the stack exists or input is bad."""
    root = (root or store.default_root()).resolve()
    repo = root.parent
    if not store.STACK_NAME.match(stack):
        raise TargetError(problem("init", "STACK", "a lower-case name of letters, digits and dashes (at most 32)",
                                  "choose another stack name", got=repr(stack)))
    stack_dir = root / stack
    if stack_dir.exists():
        raise TargetError(problem(stack_dir, "STACK", "a stack that does not exist yet",
                                  "choose another name, or record versions in it with `rollback record`",
                                  got="an existing directory"))
    source = source.resolve()
    listing = _listing(source, fmt)
    if preamble is not None and not preamble.is_file():
        raise TargetError(problem(preamble, "--preamble", "an existing SQL file", "pass the preamble's path",
                                  got="no such file"))
    versions = listing.versions()
    copied = not source.is_relative_to(repo)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{stack}-", dir=root) as tmp:  # same file system: rename is atomic
        draft = Path(tmp) / stack
        draft.mkdir()
        if copied:
            (draft / "migrations").mkdir()
            for name, path in consistency.migration_files(source, listing.format).items():
                (draft / "migrations" / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, draft / "migrations" / name)
        if preamble is not None:
            shutil.copy2(preamble, draft / "preamble.sql")
        (draft / sums.SUMS_FILE).write_text(sums.render({}), encoding="utf-8")
        draft.rename(stack_dir)
    mdir = stack_dir / "migrations" if copied else source
    return NewStack(stack_dir, mdir.relative_to(repo).as_posix(), copied, versions, listing.format,
                    tuple(listing.notes), tuple(m.name for m in listing.migrations))
