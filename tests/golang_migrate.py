"""golang-migrate's own CLI (`make migrate-cli`) as a reference oracle for our migration runner.

Helpers run `migrate -path DIR -database DSN ...` against a sandbox database and read back what it did:
the version it records (`version`) and the schema it leaves (`schema_dump`, the same dump for both tools).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import pytest

from sandbox.prereqs import migrate_cli

CORPUS = Path(__file__).resolve().parent / "corpus" / "migrations"
VERSION_LINE = re.compile(r"^(\d+)( \(dirty\))?$")


class MigrateError(AssertionError):
    """A golang-migrate command that was expected to succeed failed (its stderr is the message)."""


def pinned_version() -> str:
    """The golang-migrate version pinned by tools/golang-migrate/go.mod (`v4.19.1`)."""
    return migrate_cli().parent.parent.name


def migrate_bin() -> Path:
    """The CLI built by `make migrate-cli`; fails the test with a one-line hint when it is absent."""
    path = migrate_cli()
    if not os.access(path, os.X_OK):
        pytest.fail(f"golang-migrate CLI not found at {path}: run `make migrate-cli`", pytrace=False)
    return path


def migrate_dsn(dsn: str) -> str:
    """The DSN as golang-migrate's postgres driver needs it: `sslmode=disable` unless the query sets sslmode."""
    parts = urlsplit(dsn)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(key == "sslmode" for key, _ in query):
        query.append(("sslmode", "disable"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def migrate(dsn: str, source_dir: str | os.PathLike[str], *args: str,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`migrate -path DIR -database DSN ARGS...`; never raises on a non-zero exit (inspect returncode/stderr)."""
    cmd = [str(migrate_bin()), "-path", str(Path(source_dir).resolve()), "-database", migrate_dsn(dsn), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/")})


def _checked(proc: subprocess.CompletedProcess[str], what: str, check: bool) -> subprocess.CompletedProcess[str]:
    if check and proc.returncode != 0:
        raise MigrateError(f"migrate {what} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc


def up(dsn: str, source_dir: str | os.PathLike[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`migrate up` (every pending version); raises MigrateError on failure unless check=False."""
    return _checked(migrate(dsn, source_dir, "up"), "up", check)


def goto(dsn: str, source_dir: str | os.PathLike[str], version: int, *,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    """`migrate goto VERSION` (up or down; VERSION must be a file's version); raises unless check=False."""
    return _checked(migrate(dsn, source_dir, "goto", str(version)), f"goto {version}", check)


def down_all(dsn: str, source_dir: str | os.PathLike[str], *,
             check: bool = True) -> subprocess.CompletedProcess[str]:
    """`migrate down -all` (every down file, to no version at all); raises unless check=False."""
    return _checked(migrate(dsn, source_dir, "down", "-all"), "down -all", check)


def version(dsn: str, source_dir: str | os.PathLike[str]) -> tuple[int | None, bool]:
    """(version, dirty) as `migrate version` reports it (on stderr); (None, False) for "error: no migration"."""
    proc = migrate(dsn, source_dir, "version")
    out = proc.stderr.strip()
    if proc.returncode != 0:
        if out.endswith("error: no migration"):
            return None, False
        raise MigrateError(f"migrate version failed (exit {proc.returncode}): {out}")
    m = VERSION_LINE.match(out.splitlines()[-1] if out else "")
    if not m:
        raise MigrateError(f"migrate version: unexpected output {out!r}")
    return int(m.group(1)), bool(m.group(2))


def schema_dump(dsn: str, env: Mapping[str, str]) -> str:
    """pg_dump --schema-only --no-owner of the database, without comment, blank-run and \\restrict lines.

    `env` is the sandbox's (`sandbox.env()`): PG_BINDIR locates pg_dump; the password is the DSN's
    (or env's PGPASSWORD). The `schema_migrations` table's DDL is kept: both tools create the same one. Our runner's
    bookkeeping schema `rollback_control` (progress of files that commit in parts) is left out.
    """
    password = env.get("PGPASSWORD") or unquote(urlsplit(dsn).password or "")
    run_env = {"PATH": "/usr/bin:/bin", "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"}
    proc = subprocess.run([f"{env['PG_BINDIR']}/pg_dump", "--schema-only", "--no-owner",
                           "--exclude-schema=rollback_control", "-d", dsn],
                          env=run_env, capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"pg_dump failed (exit {proc.returncode}): {proc.stderr.strip()}")
    lines: list[str] = []
    for line in proc.stdout.splitlines():
        if line.startswith(("--", "\\restrict", "\\unrestrict")):
            continue
        if not line.strip() and (not lines or not lines[-1].strip()):
            continue
        lines.append(line)
    return "\n".join(lines).strip() + "\n"


def corpus_sets() -> list[Path]:
    """The committed migration sets under tests/corpus/migrations/, by name."""
    return sorted(p for p in CORPUS.iterdir() if p.is_dir())


def versions(source_dir: str | os.PathLike[str]) -> list[int]:
    """The golang-migrate versions of a directory (integer file prefixes), ascending."""
    pattern = re.compile(r"^(\d+)_.*\.(?:up|down)\.sql$")
    return sorted({int(m.group(1)) for f in os.listdir(source_dir) if (m := pattern.match(f))})
