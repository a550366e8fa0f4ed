"""The operator verbs through the real CLI, engine and sandbox: plan formats and exit codes, apply, locks, reports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from rollback.lock import lock_path
from tests.databases import create_database, drop_database

pytestmark = pytest.mark.e2e
GOLDEN = Path(__file__).parent / "golden"
REPO_ROOT = Path(__file__).resolve().parents[2]
TIMESTAMP = re.compile(r"\d{8}T\d{6}Z|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


class Operator:
    """Runs `rollback ...` as a user would, against one database and one state backend."""

    def __init__(self, sandbox: Any, dsn: str, state: Path, reports: Path) -> None:
        self.sandbox, self.dsn, self.reports = sandbox, dsn, reports
        self.env = {**os.environ, **sandbox.env(), "DATABASE_URL": dsn, "PULUMI_BACKEND_URL": f"file://{state}",
                    "ROLLBACK_REPORT_DIR": str(reports), "NO_COLOR": "1", "COLUMNS": "200",
                    "ROLLBACK_INITIATOR": "ci-bot"}
        self.outputs: list[str] = []

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start `rollback args...` without a TTY."""
        return subprocess.Popen([sys.executable, "-c", "from rollback.cli import main; main()", *args], env=self.env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `rollback args...` to completion; every output is kept for the secret scan."""
        proc = self.start(*args)
        out, err = proc.communicate(timeout=300)
        self.outputs += [out, err]
        assert "Traceback" not in err, err
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def deployed(self) -> dict[str, Any]:
        proc = self.run("status", "local", "--format", "json")
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["deployed"] or {}

    def flags(self) -> dict[str, Any]:
        import psycopg

        with psycopg.connect(self.dsn) as conn:
            return dict(conn.execute("SELECT name, value FROM rollback_control.flags").fetchall())

    def schema_version(self) -> int:
        import psycopg

        with psycopg.connect(self.dsn) as conn:
            return int(conn.execute("SELECT version FROM schema_migrations").fetchone()[0])

    def alias_target(self) -> str:
        env = self.sandbox.env()
        resp = httpx.get(f"{env['VERCEL_API_URL']}/v4/aliases/app.example.test",
                         headers={"Authorization": f"Bearer {env['VERCEL_TOKEN']}"})
        return str(resp.json()["deploymentId"])


@pytest.fixture(scope="module")
def op(sandbox, tmp_path_factory) -> Any:
    """v1.4.2 then v1.5.0 deployed on a fresh database and backend."""
    from sandbox import seed_deployments

    seed_deployments(sandbox)
    base = tmp_path_factory.mktemp("operator")
    (base / "state").mkdir()
    dsn = create_database(sandbox, "op")
    operator = Operator(sandbox, dsn, base / "state", base / "reports")
    for label in ("v1.4.2", "v1.5.0"):
        proc = operator.run("apply", "local", "--to", label, "--yes", "--reason", f"release {label}")
        assert proc.returncode == 0, proc.stderr
    yield operator
    drop_database(sandbox, dsn)


def _normalise(text: str) -> str:
    return TIMESTAMP.sub("<timestamp>", text)


@pytest.mark.parametrize("fmt,golden", [("text", "plan_v150_to_last_good.txt"),
                                        ("markdown", "plan_v150_to_last_good.md"),
                                        ("json", "plan_v150_to_last_good.json")])
def test_plan_formats_match_golden(op, fmt, golden):
    proc = op.run("plan", "local", "--to", "last-good", "--format", fmt)
    assert proc.returncode == 2, proc.stderr
    expected = GOLDEN / golden
    if os.environ.get("ROLLBACK_UPDATE_GOLDEN"):
        expected.write_text(_normalise(proc.stdout))
    assert _normalise(proc.stdout) == expected.read_text()


# `rollback …` that counts the loads of a stack record (rollback_stacks.load) and prints how many at exit
COUNTING_LAUNCHER = """
import atexit, sys
import rollback_stacks, rollback_stacks.store as store
loads, real = [], store.load
def load(*args, **kwargs):
    loads.append(args[0] if args else kwargs.get("stack"))
    return real(*args, **kwargs)
store.load = rollback_stacks.load = load
atexit.register(lambda: sys.stderr.write(f"\\nloads: {loads}\\n"))
sys.argv = ["rollback", *sys.argv[1:]]
from rollback.cli import main
main()
"""


def test_a_rollout_reads_its_stack_record_once(op):
    """plan (resolve + the preview's program) and apply (resolve + preview + update) each load the record once."""
    for args, code in ((("plan", "local", "--to", "last-good"), 2), (("apply", "local", "--to", "v1.5.0", "--yes"), 0)):
        proc = subprocess.run([sys.executable, "-c", COUNTING_LAUNCHER, *args], env=op.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == code, proc.stderr
        assert proc.stderr.strip().splitlines()[-1] == "loads: ['local']", proc.stderr


def test_plan_lists_steps_in_dependency_order(op):
    plan = json.loads(op.run("plan", "local", "--to", "last-good", "--format", "json").stdout)
    components = [s["component"] for s in plan["steps"]]
    # a rollback whose target app accepts the live schema: users first, the database after the snapshot
    assert components == ["JobControl", "DeploymentAlias", "HealthGate", "DatabaseSnapshot", "DatabaseObjects",
                          "SchemaVersion", "JobControl"]
    assert plan["order"]["safe"] is True
    assert [(b["after"], b["serving"], b["schema"]) for b in plan["order"]["boundaries"]] == [
        ("start", "dpl_v150", 5), ("alias", "dpl_v142", 5), ("dbobjects", "dpl_v142", 5), ("schema", "dpl_v142", 3)]
    assert plan["desired"]["label"] == "v1.4.2" and plan["current"]["label"] == "v1.5.0"


def test_plan_exit_codes(op):
    same = op.run("plan", "local", "--to", "v1.5.0")
    assert same.returncode == 0 and "No changes" in same.stdout
    bad = op.run("plan", "local", "--to", "v9.9.9")
    assert bad.returncode == 1 and bad.stderr.startswith("error:") and "v1.4.2" in bad.stderr
    fmt = op.run("plan", "local", "--to", "last-good", "--format", "yaml")
    assert fmt.returncode == 1 and "--format" in fmt.stderr


def test_apply_without_yes_and_without_tty_refuses(op):
    proc = op.run("apply", "local", "--to", "last-good")
    assert proc.returncode == 1 and "--yes" in proc.stderr
    assert op.deployed()["label"] == "v1.5.0"


def test_apply_refused_while_another_rollout_holds_the_stack(op):
    holder = subprocess.Popen(["sleep", "60"])
    lock = lock_path(op.env["PULUMI_BACKEND_URL"], "local")
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"user": "alice", "host": os.uname().nodename, "pid": holder.pid,
                                "since": "2026-11-22T09:00:00+00:00", "target": "v1.4.2", "reason": "incident 42"}))
    try:
        proc = op.run("apply", "local", "--to", "last-good", "--yes")
        assert proc.returncode == 1
        assert f"alice@{os.uname().nodename} (pid {holder.pid})" in proc.stderr and "incident 42" in proc.stderr
        assert op.deployed()["label"] == "v1.5.0"
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its lock is stale and the next apply takes it over (nothing to change here)
    assert op.run("apply", "local", "--to", "v1.5.0", "--yes").returncode == 0
    assert not lock.exists()


def test_two_concurrent_applies_one_proceeds(op):
    env = op.sandbox.env()
    httpx.patch(f"{env['VERCEL_API_URL']}/_standin/deployments/dpl_v142", json={"meta": {"health_fail_first": 2}},
                headers={"Authorization": f"Bearer {env['VERCEL_TOKEN']}"}).raise_for_status()
    first = op.start("apply", "local", "--to", "last-good", "--yes", "--reason", "first")
    lock = lock_path(op.env["PULUMI_BACKEND_URL"], "local")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and f'"pid": {first.pid}' not in (lock.read_text() if lock.exists() else ""):
        time.sleep(0.05)
    second = op.run("apply", "local", "--to", "last-good", "--yes", "--reason", "second")
    out, err = first.communicate(timeout=300)
    op.outputs += [out, err]
    assert first.returncode == 0, err
    assert second.returncode == 1 and "held by" in second.stderr and "first" in second.stderr
    assert op.deployed()["label"] == "v1.4.2"


def test_rolled_back_state_and_report(op):
    assert op.schema_version() == 3
    assert op.alias_target() == "dpl_v142"
    assert op.flags()["notif_frequency_cap"] == 5
    reports = sorted(op.reports.glob("*/report.json"), key=lambda p: p.stat().st_mtime)
    report = json.loads(reports[-1].read_text())
    assert report["outcome"] == "succeeded" and report["target"]["to_version"] == "2"
    assert report["who"]["initiator"] == "ci-bot" and report["who"]["reason"] == "first"
    names = [s["name"] for s in report["steps"]]
    assert names[0] == "release-jobs-freeze" and names[-1] == "release-jobs-release" and len(names) >= 7
    assert all(s["duration_s"] is not None and s["status"] == "succeeded" for s in report["steps"])
    assert report["snapshots"] and report["snapshots"][0]["reference"].startswith("s3://rollback-snapshots/")
    assert op.run("plan", "local", "--to", "last-good").returncode == 0


def test_status_after_a_clean_apply_shows_no_drift_until_the_schema_moves(op):
    def status() -> dict[str, Any]:
        proc = op.run("status", "local", "--format", "json")
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    assert status()["drift"] == []
    import psycopg

    with psycopg.connect(op.dsn) as conn:
        conn.execute("UPDATE schema_migrations SET version = 2")
    try:
        assert status()["drift"] == ["update release-schema-migrate"]
    finally:
        with psycopg.connect(op.dsn) as conn:
            conn.execute("UPDATE schema_migrations SET version = 3")
    assert status()["drift"] == []


def test_no_secret_in_any_output_or_report(op):
    secrets = [op.sandbox.secrets["pg_password"], op.sandbox.secrets["vercel_token"],
               op.sandbox.secrets["aws_secret_access_key"], op.sandbox.secrets["pulumi_passphrase"]]
    written = [p.read_text(errors="replace") for p in op.reports.rglob("*") if p.is_file()]
    assert written and op.outputs
    for secret in secrets:
        assert not any(secret in text for text in op.outputs + written)


def _set_meta(op, deployment: str, meta: dict[str, Any]) -> None:
    env = op.sandbox.env()
    httpx.patch(f"{env['VERCEL_API_URL']}/_standin/deployments/{deployment}", json={"meta": meta},
                headers={"Authorization": f"Bearer {env['VERCEL_TOKEN']}"}).raise_for_status()


def test_verify_feeds_decide(op, tmp_path):
    _set_meta(op, "dpl_v142", {"health_fail_first": 0})
    healthy = op.run("verify", "local", "--budget-seconds", "1")
    assert healthy.returncode == 0 and "healthy" in healthy.stdout
    _set_meta(op, "dpl_v142", {"metrics": {"error_rate": 0.12, "latency_p95_ms": 400, "availability": 0.999}})
    try:
        out = tmp_path / "validation.json"
        failing = op.run("verify", "local", "--budget-seconds", "1", "-o", str(out))
        assert failing.returncode == 1 and "error_rate" in failing.stderr
        validation = json.loads(out.read_text())
        assert validation["metrics"]["error_rate"] == 0.12 and validation["failing_checks"][0]["name"] == "error_rate"
        decided = op.run("decide", "--validation", str(out), "--stack", "local", "--format", "json")
        assert decided.returncode == 3 and json.loads(decided.stdout)["target"] == "last-good"
    finally:
        _set_meta(op, "dpl_v142", {"metrics": {"error_rate": 0.01, "latency_p95_ms": 420, "availability": 0.999}})


def test_rehearse_restores_latest_snapshot_and_matches_target(op):
    proc = op.run("rehearse", "local", "--to", "v1.3.0", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["schema_version"] == 1 and result["fingerprint_matches"] and result["schema_identical"]
    assert result["snapshot"].startswith("s3://rollback-snapshots/")
    assert op.deployed()["label"] == "v1.4.2"  # a drill changes nothing deployed


def test_record_from_stack_captures_deployed_state(op, tmp_path):
    import shutil

    from rollback.engine import REPO_ROOT

    root = tmp_path / "rollback_stacks"
    shutil.copytree(REPO_ROOT / "rollback_stacks" / "local", root / "local")
    shutil.copy(REPO_ROOT / "Pulumi.local.yaml", tmp_path / "Pulumi.local.yaml")
    op.env["ROLLBACK_PROJECT_DIR"] = str(tmp_path)
    try:
        proc = op.run("record", "local", "--label", "v1.4.3", "--from-stack", "--status", "known-good",
                      "--root", str(root))
        assert proc.returncode == 0, proc.stderr
        listed = json.loads(op.run("targets", "list", "local", "--format", "json", "--root", str(root)).stdout)
        new = listed["versions"][-1]
        assert (new["label"], new["status"], new["deployment_id"], new["schema_version"]) == \
            ("v1.4.3", "known-good", "dpl_v142", 3)
    finally:
        del op.env["ROLLBACK_PROJECT_DIR"]


def test_partial_rollback_of_jobs_changes_only_the_flags(sandbox, tmp_path):
    """Runs last: it moves the shared stand-in alias of app.example.test."""
    from sandbox import seed_deployments

    seed_deployments(sandbox)
    (tmp_path / "state").mkdir()
    dsn = create_database(sandbox, "partial")
    try:
        o = Operator(sandbox, dsn, tmp_path / "state", tmp_path / "reports")
        for label in ("v1.4.2", "v1.5.0"):
            assert o.run("apply", "local", "--to", label, "--yes").returncode == 0
        before = (o.schema_version(), o.alias_target(), o.deployed())
        proc = o.run("plan", "local", "--to", "last-good", "--components", "jobs", "--format", "json")
        plan = json.loads(proc.stdout)
        assert plan["desired"]["partial"] == ["jobs"]
        changed = {s["component"] for s in plan["steps"]}
        assert changed <= {"JobControl", "HealthGate"}, changed
        proc = o.run("apply", "local", "--to", "last-good", "--components", "jobs", "--yes")
        assert proc.returncode == 0, proc.stderr
        after = o.deployed()
        assert (o.schema_version(), o.alias_target()) == before[:2] == (5, "dpl_v150")
        assert after["label"] == "v1.5.0" and after["partial"] == {"version": 2, "components": ["jobs"]}
        flags = o.flags()
        assert flags["notif_frequency_cap"] == 5 and flags["feature_notification_digests"] is False
        refused = o.run("plan", "local", "--to", "v1.3.0", "--components", "schema")
        assert refused.returncode == 1 and "target is inconsistent" in refused.stderr, refused.stderr
    finally:
        drop_database(sandbox, dsn)



def test_golden_plans_hold_every_down_file_and_statement_untruncated():
    from pglast import split

    migrations = sorted((REPO_ROOT / "rollback_stacks" / "local").rglob("000[45]_*.down.sql"))
    assert len(migrations) == 2
    md, data = (GOLDEN / "plan_v150_to_last_good.md").read_text(), (GOLDEN / "plan_v150_to_last_good.json").read_text()
    schema = next(s for s in json.loads(data)["steps"] if s["component"] == "SchemaVersion")
    sql = {f["file"]: f["statements"] for f in schema["sql"]}
    assert [f["file"] for f in schema["sql"]] == ["0005_notification_digests.down.sql",
                                                  "0004_worker_jobs_retry.down.sql"]
    for path in migrations:
        assert f"`{path.name}`" in md
        for stmt in split(path.read_text()):
            assert stmt.strip() in md, stmt
            assert stmt.strip() in sql[path.name]
    assert "…" not in md and "…" not in data
    assert "7 to update" in md and json.loads(data)["summary"] == "7 to update"
    # each destructive statement with the rows it touches now, 0 included
    assert "- `0005_notification_digests.down.sql`; drops table notification_digests: **0 rows** now" in md
    assert ("- `0004_worker_jobs_retry.down.sql`; drops column worker_jobs.last_error_at: **0 rows** now; "
            "drops column worker_jobs.max_attempts: **0 rows** now") in md
    assert [[(d["kind"], d["object"], d["drops"], d["rows"]) for d in f["destructive"]] for f in schema["sql"]] == [
        [("drop table", "table notification_digests", "table notification_digests", 0)],
        [("drop column", "column worker_jobs.last_error_at", "column worker_jobs.last_error_at", 0),
         ("drop column", "column worker_jobs.max_attempts", "column worker_jobs.max_attempts", 0)]]
    # the alias move with both deployments and when each was made
    assert ("**2. DeploymentAlias** moves `app.example.test` from `dpl_v150` (created <timestamp>) to `dpl_v142` "
            "(created <timestamp>)") in md
    alias = next(s for s in json.loads(data)["steps"] if s["component"] == "DeploymentAlias")
    assert alias["alias_move"] == {"domain": "app.example.test", "from": "dpl_v150", "from_created": "<timestamp>",
                                   "to": "dpl_v142", "to_created": "<timestamp>"}


def test_the_alias_move_shows_vercels_creation_dates_and_rows_dropped_now(op):
    """The dates are Vercel's createdAt of each deployment; a row in a dropped table shows in its count."""
    from datetime import UTC, datetime

    live = op.run("apply", "local", "--to", "v1.5.0", "--yes", "--reason", "v1.5.0 live again")  # after earlier tests
    assert live.returncode == 0, live.stderr

    env = op.sandbox.env()
    made = {dep: datetime.fromtimestamp(httpx.get(f"{env['VERCEL_API_URL']}/v13/deployments/{dep}", headers={
        "Authorization": f"Bearer {env['VERCEL_TOKEN']}"}).json()["createdAt"] / 1000, UTC).strftime(
        "%Y-%m-%d %H:%M:%S UTC") for dep in ("dpl_v150", "dpl_v142")}
    import psycopg

    with psycopg.connect(op.dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO notification_digests (user_id, day) VALUES (gen_random_uuid(), current_date)")
        try:
            md = op.run("plan", "local", "--to", "last-good", "--format", "markdown").stdout
        finally:
            conn.execute("DELETE FROM notification_digests")
    assert (f"moves `app.example.test` from `dpl_v150` (created {made['dpl_v150']}) to `dpl_v142` "
            f"(created {made['dpl_v142']})") in md
    assert "drops table notification_digests: **1 row** now" in md
