"""A new stack from `rollback init`: every verb answers without a traceback, `record` works without a version to
copy (also `--from-live`), bad input changes nothing, and file names are never taken for secrets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests import golang_migrate as gm
from tests.databases import create_database, drop_database


def rollback(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`rollback args...` in a project directory, without a TTY; never a traceback."""
    proc = subprocess.run([sys.executable, "-c", "from rollback.cli import main; main()", *args],
                          env={**os.environ, **(env or {}), "ROLLBACK_PROJECT_DIR": str(project), "NO_COLOR": "1",
                               "COLUMNS": "200"},
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, check=False)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return proc


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with its migrations in db/migrations (the unpadded corpus set) and a new stack `app`."""
    root = tmp_path / "project"
    shutil.copytree(gm.CORPUS / "unpadded", root / "db" / "migrations")
    proc = rollback(root, "init", "app", "--migrations-dir", str(root / "db" / "migrations"))
    assert proc.returncode == 0, proc.stderr
    return root


def test_every_verb_on_a_stack_with_no_versions(project: Path, tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    env = {"PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}", "PULUMI_CONFIG_PASSPHRASE": "x"}
    listed = rollback(project, "targets", "list", "app", "--format", "json")
    assert listed.returncode == 0 and json.loads(listed.stdout)["versions"] == []
    assert "ok app: 0 version(s), last-good none" in rollback(project, "targets", "validate").stdout
    assert rollback(project, "targets", "validate", str(project / "rollback_stacks" / "app")).returncode == 0
    status = rollback(project, "status", "app", "--format", "json", env=env)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["deployed"] is None and json.loads(status.stdout)["last_good"] is None
    for args in (("targets", "show", "app", "last-good"), ("plan", "app", "--to", "last-good"),
                 ("apply", "app", "--to", "last-good", "--yes")):
        proc = rollback(project, *args, env=env)
        assert proc.returncode == 1 and proc.stderr.startswith("error: ")
        assert "no versions yet" in proc.stderr and "rollback record app" in proc.stderr, proc.stderr
    empty = rollback(project, "record", "app", "--label", "v1", "--git-sha", "abc1234")
    assert empty.returncode == 1 and "--schema-version N" in empty.stderr


def test_init_writes_settings_and_an_empty_valid_record(project: Path) -> None:
    settings = (project / "Pulumi.app.yaml").read_text()
    assert "rollback:components: [jobs, snapshot, schema, dbobjects, alias, health]" in settings
    assert "rollback:migrationsDir: db/migrations" in settings
    assert sorted(tree(project / "rollback_stacks" / "app")) == ["rollback.sum"]
    before = tree(project)
    again = rollback(project, "init", "app", "--migrations-dir", str(project / "db" / "migrations"))
    assert again.returncode == 1 and "an existing directory" in again.stderr
    for bad in (("--migrations-dir", str(project / "nope")), ("--migrations-dir", "db", "--components", "web")):
        proc = rollback(project, "init", "other", *bad)
        assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert tree(project) == before  # nothing written by refused input


def test_init_refuses_what_golang_migrate_refuses(tmp_path: Path) -> None:
    mdir = tmp_path / "m"
    mdir.mkdir()
    for name in ("1_a.up.sql", "01_b.up.sql", "1_a.down.sql"):
        (mdir / name).write_text("SELECT 1;")
    proc = rollback(tmp_path / "p", "init", "app", "--migrations-dir", str(mdir))
    assert proc.returncode == 1 and "one up file for version 1, not 2" in proc.stderr
    assert not (tmp_path / "p" / "rollback_stacks" / "app").exists()


def test_record_on_an_empty_stack_and_file_names_are_not_secrets(project: Path) -> None:
    proc = rollback(project, "record", "app", "--label", "v3.0.0", "--schema-version", "100", "--status",
                    "known-good", "--git-sha", "abc1234")
    assert proc.returncode == 0, proc.stderr
    doc = (project / "rollback_stacks" / "app" / "versions" / "0001.yaml").read_text()
    assert "9_secret_fields.up.sql:" in doc and "migrations_dir: ../../db/migrations" in doc
    shown = json.loads(rollback(project, "targets", "show", "app", "last-good", "--format", "json").stdout)
    assert shown["database"]["schema_version"] == 100 and len(shown["database"]["migrations"]) == 12
    wrong = rollback(project, "record", "app", "--label", "v3.0.1", "--schema-version", "4", "--git-sha", "abc1234")
    assert wrong.returncode == 1 and "exactly one up file for version 4" in wrong.stderr
    assert "its versions: 1, 2, 3" in wrong.stderr


@pytest.mark.e2e
def test_record_from_live_captures_a_system_never_applied(project: Path, sandbox: Any) -> None:
    dsn = create_database(sandbox, "live")
    env = {**sandbox.env(), "DATABASE_URL": dsn}
    try:
        gm.goto(dsn, gm.CORPUS / "unpadded", 9)
        with psycopg.connect(dsn) as conn:
            conn.execute("CREATE SCHEMA rollback_control; CREATE TABLE rollback_control.flags "
                         "(name text PRIMARY KEY, value jsonb NOT NULL)")
            conn.execute("INSERT INTO rollback_control.flags VALUES ('workers', 'true'), ('cap', '7')")
        headers = {"Authorization": f"Bearer {env['VERCEL_TOKEN']}"}
        with httpx.Client(base_url=env["VERCEL_API_URL"], headers=headers, timeout=10) as c:
            assert c.post("/v13/deployments", json={"id": "dpl_live1", "name": "billing"}).status_code == 200
            assert c.post("/v2/deployments/dpl_live1/aliases", json={"alias": "billing.adopt.test"}).status_code == 200
        settings = project / "Pulumi.app.yaml"
        settings.write_text(settings.read_text().replace("rollback:allowedDomains: []",
                                                         "rollback:allowedDomains: [billing.adopt.test]\n"
                                                         "  rollback:vercelProject: billing"))
        proc = rollback(project, "record", "app", "--label", "prod-2026-12", "--from-live", "--status",
                        "known-good", "--git-sha", "abc1234", env=env)
        assert proc.returncode == 0, proc.stderr
        shown = json.loads(rollback(project, "targets", "show", "app", "1", "--format", "json").stdout)
        assert shown["database"]["schema_version"] == 9
        assert shown["app"] == {"project": "billing", "domains": ["billing.adopt.test"], "deployment_id": "dpl_live1"}
        assert shown["jobs"]["flags"] == {"cap": 7, "workers": True}
        with psycopg.connect(dsn) as conn:
            conn.execute("UPDATE schema_migrations SET dirty = true")
        dirty = rollback(project, "record", "app", "--label", "again", "--from-live", "--git-sha", "abc1234", env=env)
        assert dirty.returncode == 1 and "dirty at version 9" in dirty.stderr
    finally:
        drop_database(sandbox, dsn)
