"""A session in the rollback's way, through the CLI and the engine, with the app's traffic running throughout:
a report job idle in transaction on a table a down file alters, then a deploy holding a function the DB objects
step replaces. Each time the step retries while the app keeps completing queries, the apply stops clean naming the
blocker (CLI line, report.json, report.md) once the budget is spent, and the same apply converges after the
blocker ends. --cancel-blockers terminates the blocker instead, and the report says which."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest

from rollback.engine import REPO_ROOT
from sandbox.traffic import Traffic, load_queries
from tests.databases import create_database, drop_database
from tests.operator.test_rollout_e2e import Operator

pytestmark = pytest.mark.e2e
TIMEOUT, BUDGET = 0.5, 4.0  # this test's rollback:locks
QUERIES = REPO_ROOT / "rollback_stacks" / "local" / "traffic.sql"


@pytest.fixture
def o(sandbox, tmp_path) -> Any:
    """v1.5.0 deployed (over v1.4.2) from a copy of the project whose Pulumi.local.yaml sets a short lock budget."""
    from sandbox import seed_deployments

    seed_deployments(sandbox)
    project = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "rollback_stacks" / "local", project / "rollback_stacks" / "local")
    settings = (REPO_ROOT / "Pulumi.local.yaml").read_text()
    (project / "Pulumi.local.yaml").write_text(
        settings + f"  rollback:locks:\n    timeout: {TIMEOUT * 1000:.0f}ms\n    budget: {BUDGET:g}s\n")
    (tmp_path / "state").mkdir()
    dsn = create_database(sandbox, "blocker")
    operator = Operator(sandbox, dsn, tmp_path / "state", tmp_path / "reports")
    operator.env["ROLLBACK_PROJECT_DIR"] = str(project)
    for label in ("v1.4.2", "v1.5.0"):
        proc = operator.run("apply", "local", "--to", label, "--yes")
        assert proc.returncode == 0, proc.stderr
    yield operator
    drop_database(sandbox, dsn)


def hold(dsn: str, *sql: str, app: str) -> psycopg.Connection:
    """A session that ran sql in a transaction it keeps open."""
    conn = psycopg.connect(dsn, application_name=app)
    for statement in sql:
        conn.execute(statement)
    return conn


def last_report(reports: Path) -> tuple[dict[str, Any], str]:
    newest = max(reports.glob("*/report.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(newest.read_text()), (newest.parent / "report.md").read_text()


def version_row(dsn: str) -> tuple[int, bool]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT version, dirty FROM schema_migrations").fetchone()


def test_blocker_on_a_table_a_down_file_alters(o):
    queries = load_queries(QUERIES)
    report_job = hold(o.dsn, "BEGIN", "SELECT count(*) FROM public.worker_jobs", app="nightly-report")
    pid = report_job.info.backend_pid
    try:
        plan = json.loads(o.run("plan", "local", "--to", "v1.4.2", "--format", "json").stdout)
        assert any(f"pid {pid} ('nightly-report', idle in transaction" in w for w in plan["warnings"]), plan
        with Traffic(o.dsn, queries, clients=4) as traffic:
            failed = o.run("apply", "local", "--to", "v1.4.2", "--yes")
            during = traffic.stop()
    finally:
        report_job.close()
    line = failed.stderr.strip()
    assert failed.returncode != 0 and len(line.splitlines()) == 1, failed.stderr
    assert f"blocked by pid {pid} ('nightly-report', idle in transaction" in line, line
    assert "0004_worker_jobs_retry.down.sql" in line and "--cancel-blockers" in line
    assert version_row(o.dsn) == (4, False)  # 0005 went down; 0004 stopped clean behind the blocker
    report, md = last_report(o.reports)
    assert report["outcome"] == "failed" and f"blocked by pid {pid}" in report["error"]
    assert f"blocked by pid {pid} ('nightly-report'" in md
    assert during.errors == [], during.summary()
    assert during.longest_gap <= TIMEOUT + 1.0, during.summary()  # the app never stalled behind the ALTER

    with Traffic(o.dsn, queries, clients=4) as traffic:  # the blocker is gone: the same apply converges
        again = o.run("apply", "local", "--to", "v1.4.2", "--yes")
        after = traffic.stop()
    assert again.returncode == 0, again.stderr
    assert version_row(o.dsn) == (3, False) and o.alias_target() == "dpl_v142"
    assert after.errors == [], after.summary()


def test_blocker_on_a_function_the_db_objects_step_replaces_then_cancelled(o):
    assert o.run("apply", "local", "--to", "v1.4.2", "--yes").returncode == 0
    with psycopg.connect(o.dsn) as conn:
        signature = conn.execute("SELECT oid::regprocedure::text FROM pg_proc WHERE proname = 'notif_send'"
                                 ).fetchone()[0]
    deploy = hold(o.dsn, "BEGIN", f"ALTER FUNCTION {signature} COST 101", app="hotfix-deploy")
    pid = deploy.info.backend_pid
    try:
        with Traffic(o.dsn, load_queries(QUERIES), clients=4) as traffic:
            failed = o.run("apply", "local", "--to", "v1.5.0", "--yes")
            during = traffic.stop()
        assert failed.returncode != 0
        assert f"blocked by pid {pid} ('hotfix-deploy', idle in transaction" in failed.stderr, failed.stderr
        assert "database functions" in failed.stderr
        assert version_row(o.dsn) == (5, False)  # the schema step before it completed
        assert during.errors == [], during.summary()

        cancelled = o.run("apply", "local", "--to", "v1.5.0", "--yes", "--cancel-blockers")
        assert cancelled.returncode == 0, cancelled.stderr
        assert "--cancel-blockers" in cancelled.stdout  # the plan said what it would do
        with pytest.raises(psycopg.OperationalError):
            deploy.execute("SELECT 1")  # terminated
    finally:
        deploy.close()
    report, md = last_report(o.reports)
    waits = [s["lock_waits"] for s in report["steps"] if s.get("lock_waits")]
    assert [b["pid"] for w in waits for b in w["cancelled"]] == [pid], report["steps"]
    assert f"terminated (--cancel-blockers): pid {pid} ('hotfix-deploy'" in md
    assert o.alias_target() == "dpl_v150"
