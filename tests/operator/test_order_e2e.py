"""Compatibility order through the CLI: a release moves the schema first, an incompatible pair is refused without
--maintenance (nothing changed) and applied with it (users on the maintenance deployment while the database moves)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.databases import create_database, drop_database
from tests.operator.test_rollout_e2e import Operator

pytestmark = pytest.mark.e2e


def _transitions(sandbox: Any, since: float) -> list[tuple[str | None, str | None]]:
    env = sandbox.env()
    log = httpx.get(f"{env['VERCEL_API_URL']}/_standin/transitions").json()["transitions"]
    return [(t["from"], t["to"]) for t in log if t["alias"] == "app.example.test" and t["at"] >= since]


@pytest.fixture
def o(sandbox, tmp_path) -> Any:
    from sandbox import seed_deployments

    seed_deployments(sandbox)
    (tmp_path / "state").mkdir()
    dsn = create_database(sandbox, "order")
    yield Operator(sandbox, dsn, tmp_path / "state", tmp_path / "reports")
    drop_database(sandbox, dsn)


def test_release_runs_the_schema_before_the_alias_and_reports_the_order(o):
    assert o.run("apply", "local", "--to", "v1.4.2", "--yes").returncode == 0
    plan = json.loads(o.run("plan", "local", "--to", "v1.5.0", "--format", "json").stdout)
    assert [s["component"] for s in plan["steps"]] == ["JobControl", "DatabaseSnapshot", "SchemaVersion",
                                                       "DeploymentAlias", "HealthGate", "DatabaseObjects",
                                                       "JobControl"]
    assert plan["order"]["safe"] is True and "database goes first" in plan["order"]["note"]
    assert o.run("apply", "local", "--to", "v1.5.0", "--yes").returncode == 0
    assert (o.schema_version(), o.alias_target()) == (5, "dpl_v150")


def test_an_incompatible_pair_is_refused_without_maintenance_and_applied_with_it(o, sandbox):
    for label in ("v1.4.2", "v1.5.0"):
        assert o.run("apply", "local", "--to", label, "--yes").returncode == 0
    # v1.5.0's app accepts schema 5..5 only, v1.3.0's 1..3: whichever moves first, users hit a schema they cannot use
    refused = o.run("plan", "local", "--to", "v1.3.0")
    assert refused.returncode == 1
    assert "no order keeps the serving app on a schema it accepts" in refused.stderr
    assert "alias first: after alias, dpl_v130 (v1.3.0, accepts schema 1..3) would serve schema 5" in refused.stderr
    assert "--maintenance" in refused.stderr and refused.stderr.count("rollout refused") == 1
    applied = o.run("apply", "local", "--to", "v1.3.0", "--yes")
    assert applied.returncode == 1 and "no order keeps" in applied.stderr
    assert (o.schema_version(), o.alias_target(), o.deployed()["label"]) == (5, "dpl_v150", "v1.5.0")

    plan = json.loads(o.run("plan", "local", "--to", "v1.3.0", "--maintenance", "--format", "json").stdout)
    assert plan["order"]["maintenance"] is True
    assert [s["component"] for s in plan["steps"]] == ["JobControl", "MaintenanceWindow", "DatabaseSnapshot",
                                                       "SchemaVersion", "DatabaseObjects", "DeploymentAlias",
                                                       "HealthGate", "JobControl"]
    assert [b["serving"] for b in plan["order"]["boundaries"]] == ["dpl_v150", "dpl_maintenance", "dpl_maintenance",
                                                                   "dpl_maintenance", "dpl_v130"]
    since = time.time()
    proc = o.run("apply", "local", "--to", "v1.3.0", "--maintenance", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert (o.schema_version(), o.alias_target(), o.deployed()["label"]) == (1, "dpl_v130", "v1.3.0")
    assert _transitions(sandbox, since) == [("dpl_v150", "dpl_maintenance"), ("dpl_maintenance", "dpl_v130")]
    folder = Path(proc.stdout.split("report: ", 1)[1].split()[0])
    report = json.loads((folder / "report.json").read_text())
    assert report["order"]["maintenance"] is True and report["order"]["boundaries"][1]["serving"] == "dpl_maintenance"
    assert "## Order" in (folder / "report.md").read_text()
    assert o.run("plan", "local", "--to", "v1.3.0", "--maintenance").returncode == 0  # settled: nothing left to do

    # the window closed: rolling forward (compatible) needs no maintenance and never visits it
    since = time.time()
    assert o.run("apply", "local", "--to", "v1.4.2", "--yes").returncode == 0
    assert _transitions(sandbox, since) == [("dpl_v130", "dpl_v142")]
    assert o.run("plan", "local", "--to", "v1.4.2").returncode == 0
