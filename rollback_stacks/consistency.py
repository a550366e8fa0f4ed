"""Consistency of version documents with their SQL files and each other, checked before any change."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rollback_stacks import formats, sums
from rollback_stacks.docs import Document
from rollback_stacks.errors import TargetError, problem
from rollback_stacks.model import Version
from rollback_stacks.paths import migrations_path, safe_path

MIGRATION = re.compile(r"^(\d+)_(.*)\.(up|down)\.sql$")  # golang-migrate: any integer prefix, any name
IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SCHEMA_HINT = "see rollback_stacks/schema/version.schema.json"


def migration_version(name: str, fmt: str = formats.DEFAULT) -> int | None:
    """The migration number of a file of the format (golang-migrate: its integer prefix), or None for others."""
    return formats.get(fmt).version_of(name)


def migration_files(mdir: Path, fmt: str = formats.DEFAULT) -> dict[str, Path]:
    """Every file the format reads in a migrations directory, by path relative to it."""
    return formats.get(fmt).files(mdir)


def migrations_upto(mdir: Path, schema_version: int, fmt: str = formats.DEFAULT) -> tuple[dict[str, Path], list[str]]:
    """The migration files of the versions <= schema_version, and what is missing or ambiguous among them.

    As golang-migrate: versions need not be contiguous, but schema_version (unless 0) must be one of them, and
    each version has exactly one up file and at most one down file. Other formats: the tool's own listing.
    """
    if fmt != formats.DEFAULT:
        return _listed_upto(mdir, schema_version, formats.get(fmt))
    found: dict[tuple[int, str], list[Path]] = {}
    for name, path in migration_files(mdir).items():
        m = MIGRATION.match(name)
        assert m is not None
        if int(m.group(1)) <= schema_version:
            found.setdefault((int(m.group(1)), m.group(3)), []).append(path)
    versions = sorted({v for v, _ in found})
    problems = [f"exactly one up file for version {schema_version} (schema_version must be a version of the "
                f"directory; its versions: {_some(versions)})"] if schema_version and \
        (schema_version, "up") not in found else []
    for (version, kind), paths in sorted(found.items()):
        if len(paths) > 1:
            problems.append(f"one {kind} file for version {version}, not {len(paths)} "
                            f"({', '.join(p.name for p in paths)})")
    problems += [f"an up file for version {v} (it has only {found[(v, 'down')][0].name})"
                 for v in versions if (v, "up") not in found and v != schema_version]
    return {p.name: p for paths in found.values() for p in paths}, problems


def _listed_upto(mdir: Path, schema_version: int, fmt: formats.Format) -> tuple[dict[str, Path], list[str]]:
    """migrations_upto for an up-only tool: the up files its listing applies up to schema_version."""
    try:
        _, listing = formats.read(fmt, mdir)
    except formats.FormatError as err:
        return {}, [str(err)]
    problems = [f"exactly one up file for version {schema_version} (schema_version must be a {fmt.name} migration's "
                f"number; its migrations: {_some(listing.versions())})"] \
        if schema_version and schema_version not in listing.versions() else []
    return {m.up: mdir / m.up for m in listing.upto(schema_version)}, problems


def _some(versions: list[int]) -> str:
    if not versions:
        return "none"
    return ", ".join(map(str, versions)) if len(versions) <= 6 else \
        f"{', '.join(map(str, versions[:3]))}, …, {', '.join(map(str, versions[-2:]))}"


def up_hashes(migrations: Mapping[str, str], fmt: str = formats.DEFAULT) -> list[tuple[int, str]]:
    """(version, up-file hash) of recorded migrations, in version order."""
    ups = [(migration_version(name, fmt), h) for name, h in migrations.items()
           if fmt != formats.DEFAULT or name.endswith(".up.sql")]
    return sorted((v, h) for v, h in ups if v is not None)


def required_files(stack_dir: Path, v: Version) -> list[str]:
    """Stack-relative paths of every SQL file inside the stack directory a (consistent) version references.

    Migrations in a directory shared with other stacks (outside this one) are not listed: the version document,
    whose hash the sums file records, holds their hashes.
    """
    if v.database is None:
        return []
    mdir = v.database.migrations_dir.rstrip("/")
    shared = mdir == ".." or mdir.startswith("../")
    preamble = [v.database.preamble.file] if v.database.preamble else []
    return [f"{mdir}/{name}" for name in v.database.migrations if not shared] + \
        [f.file for f in v.database.functions.values()] + preamble


def _sibling(where: str, rel: str) -> str:
    """A stack file's shown path, given the shown path of one of the stack's version documents."""
    return f"{where.rsplit('/versions/', 1)[0]}/{rel}"


def _defines(sql: str, name: str) -> bool:
    creates = re.findall(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(?:public\.)?\"?(\w+)\"?\s*\(", sql, re.I)
    return creates == [name] and re.search(r"\bCREATE\s+OR\s+REPLACE\s+FUNCTION\b", sql, re.I) is not None


def _check_database(stack_dir: Path, repo: Path, v: Version, doc: Document, where: str) -> list[str]:
    db = v.database
    assert db is not None
    out: list[str] = []
    try:
        mdir = migrations_path(stack_dir, db.migrations_dir, repo, where=where,
                               line=doc.line(("database", "migrations_dir")))
    except TargetError as err:
        return [str(err)]
    if not mdir.is_dir():
        return [problem(where, "database.migrations_dir", "an existing directory of migration files",
                        "correct the path (relative to the stack directory) or restore the directory",
                        line=doc.line(("database", "migrations_dir")), got=repr(db.migrations_dir))]
    line = doc.line(("database", "migrations"))
    files, missing = migrations_upto(mdir, db.schema_version, db.format)
    for what in missing:
        out.append(problem(where, "database.schema_version" if what.startswith("exactly one up file for version")
                           else "database.migrations", f"{what} in {db.migrations_dir}/",
                           "add the missing migration file or set database.schema_version to an existing version",
                           line=doc.line(("database", "schema_version")) if "schema_version must" in what else line))
    for name in sorted(set(db.migrations) - set(files)):
        out.append(problem(where, f"database.migrations.{name}", f"an existing file {db.migrations_dir}/{name} "
                           f"of a version <= schema_version {db.schema_version}",
                           "restore the file or remove the entry",
                           line=doc.line(("database", "migrations", name)), got="no such SQL file"))
    for name in sorted(set(files) - set(db.migrations)):
        out.append(problem(where, "database.migrations", f"an entry for {name}", "record the version again with "
                           "`rollback record` so every migration up to schema_version is hashed", line=line))
    for name in sorted(set(files) & set(db.migrations)):
        if sums.sha256_file(files[name]) != db.migrations[name]:
            out.append(problem(_sibling(where, f"{db.migrations_dir}/{name}"), "", "the content recorded in "
                               f"{where} (database.migrations)", "revert the migration file; ship changes as a new "
                               "migration", got="changed since it was recorded"))
    if not out and sums.fingerprint(up_hashes(db.migrations, db.format)) != db.schema_fingerprint:
        out.append(problem(where, "database.schema_fingerprint", "sha256 over the up-migration hashes in version order "
                           "(rollback_stacks.fingerprint)", "record the version again with `rollback record`",
                           line=doc.line(("database", "schema_fingerprint")), got=db.schema_fingerprint[:12] + "…"))
    if db.functions and db.format != formats.DEFAULT:
        out.append(problem(where, "database.functions", f"no functions managed apart from a {db.format} history",
                           "create and change those functions in the history's own migrations: the generated way "
                           "back restores the target's schema and would drop a function no migration creates",
                           line=doc.line(("database", "functions"))))
    if db.preamble is not None:
        out += _check_preamble(stack_dir, db.preamble.file, db.preamble.sha256, doc, where)
    for name, fn in db.functions.items():
        fline = doc.line(("database", "functions", name, "file"))
        if not IDENT.match(name):
            out.append(problem(where, f"database.functions.{name}", "a lower-case SQL identifier",
                               "rename the function entry", line=fline))
            continue
        try:
            path = safe_path(stack_dir, fn.file, where=where, field=f"database.functions.{name}.file", line=fline)
        except TargetError as err:
            out.append(str(err))
            continue
        if not path.is_file():
            out.append(problem(where, f"database.functions.{name}.file", "an existing SQL file",
                               "restore the file or correct the path", line=fline, got=f"missing {fn.file}"))
        elif sums.sha256_file(path) != fn.sha256:
            out.append(problem(_sibling(where, fn.file), "", f"the sha256 recorded for it in {where} "
                               f"(database.functions.{name})", "revert the file (or the reference); put a changed "
                               "body in a new <name>.<variant>.sql and record a new version",
                               got="different content (file or reference edited)"))
        elif not _defines(path.read_text(encoding="utf-8", errors="replace"), name):
            out.append(problem(where, f"database.functions.{name}.file", f"one CREATE OR REPLACE FUNCTION {name}(…)",
                               "put exactly that function in the file", line=fline))
    for name in db.triggers:
        if not IDENT.match(name):
            out.append(problem(where, f"database.triggers.{name}", "a lower-case SQL identifier",
                               "rename the trigger entry", line=doc.line(("database", "triggers", name))))
    return out


def _check_preamble(stack_dir: Path, rel: str, sha: str, doc: Document, where: str) -> list[str]:
    line = doc.line(("database", "preamble", "file"))
    try:
        path = safe_path(stack_dir, rel, where=where, field="database.preamble.file", line=line)
    except TargetError as err:
        return [str(err)]
    if not path.is_file():
        return [problem(where, "database.preamble.file", "an existing SQL file in the stack directory",
                        "restore the file or correct the path", line=line, got=f"missing {rel}")]
    if sums.sha256_file(path) != sha:
        return [problem(_sibling(where, rel), "", f"the sha256 recorded for it in {where} (database.preamble)",
                        "revert the file, or record a new version with the changed preamble",
                        got="different content")]
    return []


def check_version(stack_dir: Path, repo: Path, v: Version, doc: Document, where: str,
                  settings: Mapping[str, Any]) -> list[str]:
    """Problems of one version against its stack directory (in repository repo) and settings."""
    out: list[str] = []
    if v.database is not None:
        out += _check_database(stack_dir, repo, v, doc, where)
    if v.app is not None and v.app.requires_schema is not None and v.database is not None:
        req, have = v.app.requires_schema, v.database.schema_version
        if not req.min <= have <= req.max:
            out.append(problem(where, "app.requires_schema", f"a range containing database.schema_version {have}",
                               "fix the app's schema range or the schema version; this version cannot be applied",
                               line=doc.line(("app", "requires_schema")), got=f"[{req.min}, {req.max}]"))
    allowed = settings.get("rollback:allowedDomains")
    if v.app is not None and isinstance(allowed, list):
        for i, domain in enumerate(v.app.domains):
            if domain not in allowed:
                out.append(problem(where, f"app.domains[{i}]", f"one of rollback:allowedDomains {allowed}",
                                   "use an allowed domain or add it to Pulumi.<stack>.yaml",
                                   line=doc.line(("app", "domains", i)), got=repr(domain)))
    return out


def check_series(items: Sequence[tuple[Version, Document, str]]) -> list[str]:
    """Problems across a stack's versions: unique labels, created_at increasing with version."""
    out: list[str] = []
    labels: dict[str, int] = {}
    ordered = sorted(items, key=lambda item: item[0].version)
    for (v, doc, where), prev in zip(ordered, [None, *ordered[:-1]], strict=False):
        if v.label in labels:
            out.append(problem(where, "label", f"a label unique in the stack (version {labels[v.label]} has it)",
                               "choose a new label", line=doc.line(("label",)), got=repr(v.label)))
        labels.setdefault(v.label, v.version)
        if prev is not None and v.created_at <= prev[0].created_at:
            out.append(problem(where, "created_at", f"a time after version {prev[0].version}'s "
                               f"({prev[0].created_at.isoformat()}): versions are monotonic",
                               "give this version a later created_at or renumber the files",
                               line=doc.line(("created_at",)), got=v.created_at.isoformat()))
    return out
