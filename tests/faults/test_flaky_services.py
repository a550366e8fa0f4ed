"""A bad day at Vercel and S3, through the CLI and the engine: our fault proxy in front of the stand-in and moto
answers 429 (Retry-After, X-RateLimit-*), 5xx, S3's 503 SlowDown, drops connections and answers slowly. Within the
stack's retry budget a release and a rollback of the example stack succeed and the report counts the retries; past
it the apply stops clean at that step (one line naming endpoint, status and headers, later steps not run) and the
same apply converges once the service recovers. Vercel's asynchronous rollback/promote completing late, failing or
staying pending: success, a clean failure, a clean timeout."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollback.engine import REPO_ROOT
from sandbox import STATE_BUCKET
from tests.databases import create_database, drop_database
from tests.fault_proxy import Fault, FaultProxy
from tests.operator.test_rollout_e2e import Operator

pytestmark = [pytest.mark.faults, pytest.mark.e2e]
BUDGET = 6.0  # this module's rollback:retries.budget (seconds)
VERCEL = r"* /v\d+/.*"  # every Vercel REST call (not the app's health page or metrics, which the gate retries)
FLAKY = ["429", "503", "drop", "slow"]  # the first four calls of each endpoint
MEASURED: dict[str, Any] = {}  # figures for docs/reliability.md, printed at the end of the module


class Flaky(Operator):
    """The operator of a project copy with a short retry budget, reaching Vercel and S3 through fault proxies."""

    def __init__(self, sandbox: Any, base: Path, extra_settings: str = "", backend: str | None = None) -> None:
        project = base / "project"
        shutil.copytree(REPO_ROOT / "rollback_stacks" / "local", project / "rollback_stacks" / "local")
        settings = (REPO_ROOT / "Pulumi.local.yaml").read_text()
        (project / "Pulumi.local.yaml").write_text(settings + f"  rollback:retries:\n    budget: {BUDGET:g}s\n"
                                                   + extra_settings)
        (base / "state").mkdir()
        self.dsn_ = create_database(sandbox, "flaky")
        super().__init__(sandbox, self.dsn_, base / "state", base / "reports")
        self.vercel = FaultProxy(sandbox.env()["VERCEL_API_URL"]).__enter__()
        self.s3 = FaultProxy(sandbox.aws_endpoint).__enter__()
        self.env.update({"ROLLBACK_PROJECT_DIR": str(project), "VERCEL_API_URL": self.vercel.url,
                         "AWS_ENDPOINT_URL": self.s3.url})
        if backend:
            self.env["PULUMI_BACKEND_URL"] = backend.replace("{endpoint}", self.s3.url)

    def close(self) -> None:
        self.vercel.__exit__()
        self.s3.__exit__()
        drop_database(self.sandbox, self.dsn_)

    def apply(self, label: str, *more: str) -> tuple[Any, float]:
        started = time.monotonic()
        proc = self.run("apply", "local", "--to", label, "--yes", *more)
        return proc, time.monotonic() - started

    def report(self) -> tuple[dict[str, Any], str]:
        newest = max(self.reports.glob("*/report.json"), key=lambda p: p.stat().st_mtime)
        return json.loads(newest.read_text()), (newest.parent / "report.md").read_text()

    def step(self, report: dict[str, Any], name: str) -> dict[str, Any]:
        return next(s for s in report["steps"] if name in (s.get("component") or "") + " " + s["name"])


@pytest.fixture(scope="module")
def f(sandbox, engine_dir, tmp_path_factory) -> Iterator[Flaky]:
    """v1.4.2 deployed (without faults) from a project copy with a 6 s retry budget."""
    from sandbox import seed_deployments

    seed_deployments(sandbox)
    op = Flaky(sandbox, tmp_path_factory.mktemp("flaky"))
    try:
        proc, _ = op.apply("v1.4.2")
        assert proc.returncode == 0, proc.stderr
        yield op
    finally:
        op.close()
        if MEASURED:
            print("\nmeasured:", json.dumps(MEASURED, indent=1))


def test_vercel_faults_during_a_release_and_a_rollback_are_ridden_out(f):
    f.vercel.set(Fault(VERCEL, FLAKY, retry_after=1, slow_s=0.5))
    release, took = f.apply("v1.5.0")
    assert release.returncode == 0, release.stderr
    assert f.alias_target() == "dpl_v150" and f.schema_version() == 5
    report, md = f.report()
    alias = f.step(report, "DeploymentAlias")["retries"]
    assert alias["retries"] >= 4 and alias["calls"] > alias["retries"] and alias["wait_seconds"] >= 1.0, alias
    assert "## Retries" in md and "last transient answer" in md
    MEASURED["vercel release"] = {"alias step": alias, "apply_s": round(took, 1),
                                  "injected": len(f.vercel.injected())}

    f.vercel.set(Fault(VERCEL, FLAKY, retry_after=1, slow_s=0.5))
    rollback, took = f.apply("v1.4.2", "--allow-data-loss")
    assert rollback.returncode == 0, rollback.stderr
    assert f.alias_target() == "dpl_v142" and f.schema_version() == 3
    alias = f.step(f.report()[0], "DeploymentAlias")["retries"]
    assert alias["retries"] >= 4, alias
    MEASURED["vercel rollback"] = {"alias step": alias, "apply_s": round(took, 1),
                                   "injected": len(f.vercel.injected())}
    assert {w for _, _, w in f.vercel.injected()} == set(FLAKY)


def test_vercel_answering_503_past_the_budget_stops_the_release_clean_then_it_converges(f):
    f.vercel.set(Fault(r"POST /v2/deployments/[^/]+/aliases", always="503"))
    failed, took = f.apply("v1.5.0")
    line = failed.stderr.strip()
    assert failed.returncode == 1 and len(line.splitlines()) == 1, failed.stderr
    assert "alias move failed: retry budget of 6s spent" in line
    assert "last answer: POST /v2/deployments/dpl_v150/aliases: HTTP 503" in line and "Jobs stay frozen" in line
    report, md = f.report()
    assert report["outcome"] == "failed" and "POST /v2/deployments/dpl_v150/aliases: HTTP 503" in report["error"]
    names = [f"{s.get('component')}: {s['name']}" for s in report["steps"]]
    assert not any("HealthGate" in n or "jobs-release" in n for n in names), names  # later steps not run
    assert f.alias_target() == "dpl_v142" and f.schema_version() == 5  # the schema step before it completed
    MEASURED["vercel past the budget"] = {"apply_s": round(took, 1), "posts": len(f.vercel.injected("503")),
                                          "line": line}

    f.vercel.set()
    again, _ = f.apply("v1.5.0")
    assert again.returncode == 0, again.stderr
    assert f.alias_target() == "dpl_v150" and f.schema_version() == 5


def test_s3_slowdown_on_the_snapshot_upload_is_ridden_out_and_past_the_budget_stops_clean(f):
    bucket = f.sandbox.env()["ROLLBACK_SNAPSHOT_BUCKET"]
    upload = rf"PUT /{bucket}/local/.*\.dump"
    f.s3.set(Fault(upload, ["slowdown", "slowdown", "drop"]))
    ok, took = f.apply("v1.4.2", "--allow-data-loss")
    assert ok.returncode == 0, ok.stderr
    snap = f.step(f.report()[0], "DatabaseSnapshot")["retries"]
    assert (snap["calls"], snap["retries"]) == (4, 3), snap
    MEASURED["s3 snapshot upload"] = {"snapshot step": snap, "apply_s": round(took, 1)}

    f.s3.set(Fault(upload, always="slowdown"))
    failed, took = f.apply("v1.5.0")
    line = failed.stderr.strip()
    assert failed.returncode == 1 and len(line.splitlines()) == 1, failed.stderr
    assert "database snapshot failed: retry budget of 6s spent" in line
    assert f"last answer: PUT s3://{bucket}/local/" in line and ": HTTP 503 SlowDown" in line
    assert f.schema_version() == 3 and f.alias_target() == "dpl_v142"  # nothing after the snapshot ran
    report, _ = f.report()
    assert "HTTP 503 SlowDown" in report["error"]
    MEASURED["s3 snapshot past the budget"] = {"apply_s": round(took, 1), "puts": len(f.s3.injected("slowdown")),
                                               "line": line}

    f.s3.set()
    again, _ = f.apply("v1.5.0")
    assert again.returncode == 0, again.stderr
    assert f.schema_version() == 5 and f.alias_target() == "dpl_v150"


def test_vercel_rate_limiting_past_the_budget_stops_the_rollback_clean_then_it_converges(f):
    f.vercel.set(Fault(r"POST /v2/deployments/[^/]+/aliases", always="429", retry_after=1))
    failed, took = f.apply("v1.4.2", "--allow-data-loss")
    line = failed.stderr.strip()
    assert failed.returncode == 1 and len(line.splitlines()) == 1, failed.stderr
    assert "alias move failed: retry budget of 6s spent" in line
    assert "last answer: POST /v2/deployments/dpl_v142/aliases: HTTP 429 (Retry-After: 1" in line
    assert "X-RateLimit-Reset: " in line and "Jobs stay frozen" in line
    report, _ = f.report()
    assert report["outcome"] == "failed" and "HTTP 429" in report["error"]
    names = [f"{s.get('component')}: {s['name']}" for s in report["steps"]]
    assert not any("HealthGate" in n or "jobs-release" in n for n in names), names
    assert f.alias_target() == "dpl_v150"  # users stay on the release until the alias can move
    MEASURED["vercel rollback past the budget"] = {"apply_s": round(took, 1), "posts": len(f.vercel.injected("429"))}

    f.vercel.set()
    again, _ = f.apply("v1.4.2", "--allow-data-loss")
    assert again.returncode == 0, again.stderr
    assert f.alias_target() == "dpl_v142" and f.schema_version() == 3


@pytest.fixture
def shared(sandbox, engine_dir, tmp_path, monkeypatch) -> Iterator[Flaky]:
    """Nothing deployed; the state and the rollout lock in a bucket reached through the S3 fault proxy."""
    from sandbox import seed_deployments

    seed_deployments(sandbox)
    url = (f"s3://{STATE_BUCKET}/{uuid.uuid4().hex[:8]}?region=us-east-1&endpoint={{endpoint}}"
           "&s3ForcePathStyle=true")
    op = Flaky(sandbox, tmp_path, backend=url)
    try:
        yield op
    finally:
        op.close()


def test_s3_slowdown_on_the_lock_object_is_ridden_out_and_past_the_budget_is_one_clean_line(shared):
    lock = r"* .*/\.rollback-locks/local\.json"
    shared.s3.set(Fault(lock, ["slowdown", "slowdown"]))
    ok, took = shared.apply("v1.4.2")
    assert ok.returncode == 0, ok.stderr
    assert "note: the rollout lock s3://" in ok.stderr and "HTTP 503 SlowDown" in ok.stderr
    MEASURED["s3 lock"] = {"apply_s": round(took, 1), "injected": len(shared.s3.injected())}

    shared.s3.set(Fault(lock, always="slowdown"))
    failed, took = shared.apply("v1.5.0")
    line = failed.stderr.strip()
    assert failed.returncode == 1 and len(line.splitlines()) == 1, failed.stderr
    assert "the rollout lock s3://" in line and "could not be taken or read: retry budget of 6s spent" in line
    assert ".rollback-locks/local.json: HTTP 503 SlowDown" in line and "nothing was changed" in line
    assert shared.schema_version() == 3 and shared.alias_target() == "dpl_v142"
    MEASURED["s3 lock past the budget"] = {"apply_s": round(took, 1), "injected": len(shared.s3.injected()),
                                           "line": line}

    shared.s3.set()
    again, _ = shared.apply("v1.5.0")
    assert again.returncode == 0, again.stderr
    assert shared.schema_version() == 5 and shared.alias_target() == "dpl_v150"


@pytest.fixture
def production(sandbox, engine_dir, tmp_path) -> Iterator[tuple[Flaky, dict[str, Any]]]:
    """A team project whose production domain is the stack's alias (rollback:vercel), so the alias moves by
    Instant Rollback and promote; nothing deployed yet."""
    from sandbox import seed_deployments

    tag = uuid.uuid4().hex[:10]
    vercel = {"projectId": f"prj_{tag}", "teamId": f"team_{tag}", "productionDomains": ["app.example.test"]}
    seed_deployments(sandbox, "local", settings={"vercel": vercel})
    op = Flaky(sandbox, tmp_path, extra_settings=f"  rollback:vercel: {json.dumps(vercel)}\n")
    try:
        yield op, vercel
    finally:
        op.close()
        with _team(sandbox, vercel["teamId"]) as c:
            c.delete("/v2/aliases/app.example.test")
        seed_deployments(sandbox)


def _team(sandbox: Any, team: str | None) -> Any:
    import httpx

    env = sandbox.env()
    return httpx.Client(base_url=env["VERCEL_API_URL"], timeout=10, params={"teamId": team} if team else None,
                        headers={"Authorization": f"Bearer {env['VERCEL_TOKEN']}"})


def _jobs_end(op: Flaky, vercel: dict[str, Any], outcome: str, after_s: float = 0) -> None:
    with _team(op.sandbox, None) as c:
        c.patch(f"/_standin/projects/{vercel['projectId']}/alias-jobs",
                json={"outcome": outcome, "after_s": after_s}).raise_for_status()


def _serving(op: Flaky, vercel: dict[str, Any]) -> str | None:
    with _team(op.sandbox, vercel["teamId"]) as c:
        resp = c.get("/v4/aliases/app.example.test")
    return resp.json()["deploymentId"] if resp.status_code == 200 else None


def test_vercel_rollback_and_promote_completing_late_failing_or_pending_through_the_cli(production):
    op, vercel = production
    first, _ = op.apply("v1.4.2")
    assert first.returncode == 0, first.stderr
    assert _serving(op, vercel) == "dpl_v142"

    _jobs_end(op, vercel, "succeeded", 1.5)  # the promote completes after 1.5 s
    late, took = op.apply("v1.5.0")
    assert late.returncode == 0, late.stderr
    assert _serving(op, vercel) == "dpl_v150"
    assert f"⋯ waiting for Vercel's promote of project {vercel['projectId']} to dpl_v150: in-progress" in late.stdout
    waited = op.step(op.report()[0], "DeploymentAlias")["retries"]
    assert waited["wait_seconds"] >= 1.0 and waited["retries"] == 0, waited
    MEASURED["promote after 1.5 s (CLI)"] = {"alias step": waited, "apply_s": round(took, 1)}

    _jobs_end(op, vercel, "failed", 0.3)  # Vercel reports the rollback failed
    failed, took = op.apply("v1.4.2", "--allow-data-loss")
    line = failed.stderr.strip()
    assert failed.returncode == 1 and len(line.splitlines()) == 1, failed.stderr
    assert f"Vercel reports the rollback of project {vercel['projectId']} to dpl_v142 failed" in line
    assert "Jobs stay frozen" in line
    assert _serving(op, vercel) == "dpl_v150" and op.schema_version() == 5  # nothing after the alias step ran
    MEASURED["rollback failed (CLI)"] = {"apply_s": round(took, 1)}

    _jobs_end(op, vercel, "pending")  # the job never ends: a clean timeout when the budget is spent
    pending, took = op.apply("v1.4.2", "--allow-data-loss")
    line = pending.stderr.strip()
    assert pending.returncode == 1 and len(line.splitlines()) == 1, pending.stderr
    assert "retry budget of 6s spent" in line
    assert f"GET /v9/projects/{vercel['projectId']}: the rollback to dpl_v142 is still in-progress after" in line
    assert "⋯ waiting for Vercel's rollback" in pending.stdout
    assert _serving(op, vercel) == "dpl_v150" and op.schema_version() == 5
    MEASURED["rollback pending (CLI)"] = {"apply_s": round(took, 1), "line": line,
                                          "progress": [ln for ln in pending.stdout.splitlines() if "⋯" in ln]}

    _jobs_end(op, vercel, "succeeded", 0.5)  # Vercel completes it: the same apply converges
    again, _ = op.apply("v1.4.2", "--allow-data-loss")
    assert again.returncode == 0, again.stderr
    assert _serving(op, vercel) == "dpl_v142" and op.schema_version() == 3
