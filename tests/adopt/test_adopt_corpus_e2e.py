"""Adopting an application: `rollback init` + `record` + `apply` on each corpus set, checked against golang-migrate.

Every apply runs through the real CLI, engine and sandbox PostgreSQL, in a project directory of its own
($ROLLBACK_PROJECT_DIR); after each, the schema must be the one `migrate goto` leaves on a second database, and
`migrate version` must read our version row.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests import golang_migrate as gm
from tests.corpus.generate import large_set
from tests.databases import create_database, drop_database

pytestmark = pytest.mark.e2e
SETS = ["unpadded", "padded", "timestamps", "renamed", "own_transactions", "no_transaction"]


class Adopter:
    """A new user's project directory, database and state backend, driving `rollback` as a subprocess."""

    def __init__(self, sandbox: Any, base: Path) -> None:
        self.sandbox, self.project = sandbox, base / "project"
        self.project.mkdir()
        (base / "state").mkdir()
        self.dsn = create_database(sandbox, "adopt")
        self.oracle = create_database(sandbox, "oracle")
        self.reports = base / "reports"
        self.env = {**os.environ, **sandbox.env(), "DATABASE_URL": self.dsn, "ROLLBACK_PROJECT_DIR": str(self.project),
                    "PULUMI_BACKEND_URL": f"file://{base / 'state'}", "ROLLBACK_REPORT_DIR": str(self.reports),
                    "NO_COLOR": "1", "COLUMNS": "200"}

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """`rollback args...` without a TTY; never a traceback, and exit 0 unless ok=False."""
        proc = subprocess.run([sys.executable, "-c", "from rollback.cli import main; main()", *args], env=self.env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600, check=False)
        assert "Traceback" not in proc.stderr, proc.stderr
        if ok:
            assert proc.returncode == 0, f"rollback {' '.join(args)}: {proc.stderr}"
        return proc

    def record_all(self, versions: list[int]) -> None:
        """One known-good version per schema version, as `v<N>`."""
        for n in versions:
            self.run("record", "app", "--label", f"s{n}", "--schema-version", str(n), "--status", "known-good",
                     "--git-sha", "0a1b2c3d")

    def apply(self, schema_version: int, *, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """Apply the version recorded for a schema version."""
        return self.run("apply", "app", "--to", f"s{schema_version}", "--yes", "--allow-data-loss",
                        "--reason", "adoption test", ok=ok)

    def live_version(self) -> tuple[int | None, bool]:
        with psycopg.connect(self.dsn) as conn:
            row = conn.execute("SELECT version, dirty FROM schema_migrations").fetchone()
        return (None, False) if row is None else (int(row[0]), bool(row[1]))

    def assert_same_as_migrate(self, migrations: Path, schema_version: int) -> None:
        """Our database equals golang-migrate's after `migrate goto`, and `migrate version` reads ours."""
        gm.goto(self.oracle, migrations, schema_version)
        env = {**self.sandbox.env(), "PGPASSWORD": self.sandbox.secrets["pg_password"]}
        assert gm.schema_dump(self.dsn, env) == gm.schema_dump(self.oracle, env), f"schema at {schema_version}"
        assert gm.version(self.dsn, migrations) == (schema_version, False)

    def close(self) -> None:
        for dsn in (self.dsn, self.oracle):
            drop_database(self.sandbox, dsn)


@pytest.mark.parametrize("name", SETS)
def test_init_record_apply_matches_golang_migrate_at_every_target(adopter: Adopter, name: str) -> None:
    source = gm.CORPUS / name  # outside the project: init copies it in
    versions = gm.versions(source)
    out = adopter.run("init", "app", "--migrations-dir", str(source), "--components", "schema").stdout
    assert "copied into the stack" in out and f"{len(versions)} version(s)" in out
    assert sorted(p.name for p in (adopter.project / "rollback_stacks/app/migrations").iterdir()) == \
        sorted(p.name for p in source.iterdir() if p.name.endswith(".sql"))
    adopter.record_all(versions)
    head, first = versions[-1], versions[0]
    for target in (head, versions[len(versions) // 2], first, head):
        adopter.apply(target)
        assert adopter.live_version() == (target, False)
        adopter.assert_same_as_migrate(source, target)


def test_a_shared_migrations_dir_in_the_repository_is_referenced_and_we_continue_where_migrate_left(
        adopter: Adopter) -> None:
    shared = adopter.project / "db" / "migrations"
    shutil.copytree(gm.CORPUS / "unpadded", shared)
    out = adopter.run("init", "app", "--migrations-dir", str(shared), "--components", "schema").stdout
    assert "migrations: db/migrations/" in out and "referenced where it is" in out
    assert not (adopter.project / "rollback_stacks/app/migrations").exists()
    settings = (adopter.project / "Pulumi.app.yaml").read_text()
    assert "rollback:migrationsDir: db/migrations" in settings and "rollback:target: last-good" in settings
    adopter.record_all([3, 100])
    doc = (adopter.project / "rollback_stacks/app/versions/0001.yaml").read_text()
    assert "migrations_dir: ../../db/migrations" in doc and "9_secret_fields" not in doc  # 9 > 3: not recorded
    gm.goto(adopter.dsn, shared, 9)  # the team ran `migrate` by hand: we continue from there
    adopter.apply(100)
    adopter.assert_same_as_migrate(shared, 100)
    adopter.apply(3)
    adopter.assert_same_as_migrate(shared, 3)
    gm.up(adopter.dsn, shared)  # and golang-migrate continues from where we left it
    assert gm.version(adopter.dsn, shared) == (100, False)


def test_a_down_that_fails_midway_stops_clean_with_the_postgres_error(adopter: Adopter) -> None:
    source = gm.CORPUS / "failing_down"
    adopter.run("init", "app", "--migrations-dir", str(source), "--components", "schema")
    adopter.record_all([3, 5])
    adopter.apply(5)
    proc = adopter.apply(3, ok=False)
    assert proc.returncode == 1
    error = 'relation "invoice_note_history" does not exist'
    assert error in proc.stderr and "04_invoice_notes.down.sql" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    # clean at the last version whose step committed: 5's down ran, 4's did not (rolled back as a whole)
    assert adopter.live_version() == (4, False)
    adopter.assert_same_as_migrate(source, 4)
    report = max(adopter.reports.glob("app-*/report.json"))  # the second apply's (names carry their start time)
    data = json.loads(report.read_text())
    assert (data["target"]["to_version"], data["outcome"]) == ("1", "failed")
    assert error in data["error"] and error in (report.parent / "report.md").read_text()


def test_plans_mark_files_that_commit_in_parts(adopter: Adopter) -> None:
    source = gm.CORPUS / "no_transaction"
    adopter.run("init", "app", "--migrations-dir", str(source), "--components", "schema")
    versions = gm.versions(source)
    adopter.record_all([versions[-1]])
    proc = adopter.run("plan", "app", "--to", f"s{versions[-1]}", "--format", "json", ok=False)
    assert proc.returncode == 2, proc.stderr
    text = proc.stdout
    assert "outside-transaction" in text and "003_" in text


def test_a_thousand_versions(adopter: Adopter, tmp_path: Path) -> None:
    source = tmp_path / "large"
    versions = large_set(source, 1000)
    adopter.run("init", "app", "--migrations-dir", str(source), "--components", "schema")
    adopter.record_all([versions[-1], versions[499]])
    for target in (versions[-1], versions[499]):
        adopter.apply(target)
        adopter.assert_same_as_migrate(source, target)
