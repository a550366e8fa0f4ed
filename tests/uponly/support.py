"""The up-only corpora (tests/corpus/uponly) and the oracles that judge a rollback of them: a plain psql replay of
the ups, each tool's own runner (drizzle-orm's migrator, the Supabase CLI), and a schema comparison."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest

from components.providers.way_back import EXCLUDED_SCHEMAS, EXCLUDED_TABLES
from components.providers.wayback import catalog
from sandbox.prereqs import node_oracles
from tests.databases import admin_dsn

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "uponly"
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Corpus:
    """One set: its migrations directory as the tool leaves it, K (a few before head), head, seed and preamble."""

    format: str
    migrations: Path
    k: str
    head: str
    seed: Path
    preamble: Path | None = None
    platform: tuple[str, ...] = ()  # schemas the platform owns (left out of comparisons)

    def ups(self, upto: str) -> list[Path]:
        """The up files a plain replay runs, in the tool's order, up to and including `upto`."""
        if self.format == "drizzle":
            tags = [e["tag"] for e in json.loads((self.migrations / "meta/_journal.json").read_text())["entries"]]
            files = [self.migrations / f"{t}.sql" for t in tags]
        elif self.format == "prisma":
            files = sorted(self.migrations.glob("*/migration.sql"))
        else:
            files = sorted(self.migrations.glob("*.sql"))
        names = [self.name_of(f) for f in files]
        return files[:names.index(upto) + 1]

    def name_of(self, file: Path) -> str:
        """A file's migration name in the tool's words."""
        return file.parent.name if self.format == "prisma" else file.stem


CORPORA = {
    "drizzle": Corpus("drizzle", CORPUS / "drizzle", "0006_lucky_pelican", "0009_grey_lynx",
                      CORPUS / "drizzle" / "seed_at_k.sql"),
    "prisma": Corpus("prisma", CORPUS / "prisma" / "migrations", "20240108110205_drop_patient_fax",
                     "20240129160745_patient_contacts", CORPUS / "prisma" / "seed_at_k.sql"),
    "supabase": Corpus("supabase", CORPUS / "supabase" / "supabase" / "migrations",
                       "20240402150000_message_attachments", "20240423120000_channel_reads",
                       CORPUS / "supabase" / "seed_at_k.sql", CORPUS / "supabase" / "preamble.sql",
                       ("auth", "storage", "extensions")),
}


def with_user(dsn: str, user: str, password: str) -> str:
    """The DSN as another role."""
    rest = dsn.split("@", 1)[1]
    return f"postgresql://{quote(user)}:{quote(password)}@{rest}"


def owned_database(sandbox: Any, prefix: str) -> tuple[str, str]:
    """(superuser DSN, owner DSN) of a new database owned by a new LOGIN CREATEDB role that is no superuser (as
    Supabase's `postgres`)."""
    role, password = f"{prefix}_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(admin_dsn(sandbox), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN CREATEDB PASSWORD '{password}'")
        conn.execute(f"CREATE DATABASE {name} OWNER {role}")
    su = sandbox.database_url.rsplit("/", 1)[0] + "/" + name
    return su, with_user(su, role, password)


def psql(sandbox: Any, dsn: str, *files: Path) -> None:
    """Run SQL files with psql as a user would replay them (each file as written, stop at the first error)."""
    env = {"PATH": "/usr/bin:/bin", "PGCONNECT_TIMEOUT": "10"}
    for file in files:
        proc = subprocess.run([f"{sandbox.env()['PG_BINDIR']}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn,
                               "-f", str(file)], env=env, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"psql -f {file.name} failed: {proc.stderr.strip()}")


def schema_of(dsn: str, corpus: Corpus) -> dict[str, Any]:
    """The database's schema (column order aside), without bookkeeping and the platform's own schemas."""
    with psycopg.connect(dsn) as conn:
        return catalog.snapshot(conn, [*EXCLUDED_SCHEMAS, *corpus.platform], EXCLUDED_TABLES)


def differences(got: str, want: str, corpus: Corpus) -> list[str]:
    """What differs between two databases' schemas (empty when equal)."""
    return catalog.differences(schema_of(got, corpus), schema_of(want, corpus), ("ours", "replay"))


def rows(dsn: str, query: str) -> list[tuple[Any, ...]]:
    """A query's rows."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(query).fetchall()


def node_modules() -> Path:
    """The npm oracles (`make node-oracles`)."""
    modules = node_oracles()
    if not (modules / "drizzle-orm").is_dir() or not (modules / ".bin" / "supabase").exists():
        pytest.fail(f"drizzle-orm / supabase are not installed in {modules}: run `make node-oracles`", pytrace=False)
    return modules


def drizzle_migrate(dsn: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """drizzle-orm's migrator on the folder (never raises: inspect returncode)."""
    env = {"PATH": os.environ["PATH"], "NODE_MODULES": str(node_modules()), "DATABASE_URL": dsn}
    return subprocess.run(["node", str(HERE / "drizzle_migrate.mjs"), str(folder)], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def supabase(dsn: str, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The Supabase CLI against a database URL (never raises: inspect returncode)."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "SUPABASE_TELEMETRY_DISABLED": "1",
           "DO_NOT_TRACK": "1"}
    url = dsn + ("&" if "?" in dsn else "?") + "sslmode=disable"
    return subprocess.run([str(node_modules() / ".bin" / "supabase"), *args, "--db-url", url, "--workdir",
                           str(workdir)], env=env, capture_output=True, text=True, timeout=180, check=False,
                          stdin=subprocess.DEVNULL)
