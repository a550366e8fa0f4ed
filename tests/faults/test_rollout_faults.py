"""Scenarios 2, 3, 4 and 7: SIGKILL of `rollback apply` at every step, concurrent applies, pending operations,
and no secret in any output, report, log or state written along the way. One deployed baseline for the module; v1.5.0's
new columns and table hold values, which every rollback keeps and every release puts back, at every kill point."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollback.lock import engine_locks, lock_path
from tests.faults.conftest import World, world

pytestmark = [pytest.mark.faults, pytest.mark.e2e]
TARGETS = {"v1.4.2": "dpl_v142", "v1.5.0": "dpl_v150"}
# kill markers in the order the apply prints them: before the engine runs, at each step's start (between the
# previous step and this one, or inside it with a delay), and after the last step before the report is written
KILL_POINTS = [
    ("step(s) in dependency order", 0.0),
    ("… JobControl: release-jobs-freeze", 0.0),
    ("… DatabaseSnapshot", 0.2),
    ("… SchemaVersion", 0.0),
    ("… DatabaseObjects: release-dbobjects-functions", 0.1),
    ("… DeploymentAlias", 0.0),
    ("… HealthGate", 0.3),
    ("… JobControl: release-jobs-release", 0.0),
    ("✓ JobControl: release-jobs-release", 0.0),
]
OUTCOMES: list[dict[str, Any]] = []


@pytest.fixture(scope="module")
def w(sandbox, engine_dir, tmp_path_factory) -> Iterator[World]:
    """v1.4.2 (plus one pending worker job) then v1.5.0 deployed; the released states of both recorded."""
    for wd in world(sandbox, tmp_path_factory.mktemp("rollout-faults"), "kill"):
        assert wd.run("apply", "local", "--to", "v1.4.2", "--yes").code == 0
        wd.sql("INSERT INTO worker_jobs (kind) VALUES ('email')")
        wd.released = {"v1.4.2": _consistent(wd)}  # type: ignore[attr-defined]
        assert wd.run("apply", "local", "--to", "v1.5.0", "--yes").code == 0
        wd.released["v1.5.0"] = _consistent(wd)  # type: ignore[attr-defined]
        # values only v1.5.0's columns and table hold: each rollback keeps them, each release puts them back
        wd.sql("UPDATE worker_jobs SET max_attempts = 9, last_error_at = '2026-03-04 05:06:07+00'")
        wd.sql("INSERT INTO notification_digests (user_id, day, pending_count) SELECT gen_random_uuid(), "
               "'2026-03-04', n FROM generate_series(1, 3) n")
        wd.kept = _v150_values(wd)  # type: ignore[attr-defined]
        yield wd


def _v150_values(w: World) -> list[tuple[Any, ...]]:
    return w.sql("SELECT 'job', id::text, max_attempts::text, last_error_at::text FROM worker_jobs UNION ALL "
                 "SELECT 'digest', id::text, user_id::text, pending_count::text FROM notification_digests "
                 "ORDER BY 1, 2")


def _assert_kept_values(w: World, at: str) -> None:
    """After a converged rollout: at v1.5.0 every kept value is back, once; at v1.4.2 each dropped column and table
    is kept exactly once (one waiting set each, every row), none lost, none doubled."""
    waiting = w.sql("SELECT relation, CASE WHEN whole THEN '' ELSE array_to_string(columns, ',') END, rows "
                    "FROM rollback_control.kept_sets WHERE state = 'kept' ORDER BY 1, 2")
    if at == "v1.5.0":
        assert _v150_values(w) == w.kept and waiting == [], waiting  # type: ignore[attr-defined]
        return
    jobs, digests = (sum(1 for r in w.kept if r[0] == kind) for kind in ("job", "digest"))  # type: ignore[attr-defined]
    assert waiting == [("notification_digests", "", digests), ("worker_jobs", "last_error_at,max_attempts", jobs)], \
        waiting


def _consistent(w: World) -> dict[str, Any]:
    """The parts of the world that must match one released version whenever jobs run."""
    db = w.db()
    return {"schema": db["schema"], "flags": db["flags"], "functions": db["functions"], "alias": w.alias()}


def _deployed_label(w: World) -> str:
    now = _consistent(w)
    return next(label for label, state in w.released.items() if state == now)  # type: ignore[attr-defined]


def _assert_safe_after_kill(w: World, source: str, target: str, started: float) -> dict[str, Any]:
    """The guarantees that must hold at any kill point; returns what was observed."""
    db, now = w.db(), _consistent(w)
    assert db["schema"] is not None and db["schema"][1] is False, f"schema_migrations left dirty: {db['schema']}"
    at = [label for label, state in w.released.items() if state == now]  # type: ignore[attr-defined]
    if not db["frozen"]:
        assert at, f"jobs released while the database/alias match no released version: {now}"
        assert db["jobs"] == ["pending"]
    else:
        assert "pending" not in db["jobs"], f"jobs pending against a half-applied rollout: {db['jobs']}"
    changed_db = (now["schema"], now["functions"]) != (w.released[source]["schema"],  # type: ignore[attr-defined]
                                                      w.released[source]["functions"])  # type: ignore[attr-defined]
    if changed_db:
        assert w.snapshots_since(started), "the database changed but no safety snapshot was taken first"
    pending = w.checkpoint().get("pending_operations") or []
    return {"frozen": db["frozen"], "schema": db["schema"][0], "alias": now["alias"], "db_changed": changed_db,
            "pending_ops": len(pending), "at": at[0] if at else "between"}


@pytest.mark.parametrize(("marker", "delay"), KILL_POINTS, ids=[m.split(": ")[-1][:24] for m, _ in KILL_POINTS])
def test_sigkill_at_each_step_then_rerun_converges(w, marker, delay):
    source = _deployed_label(w)
    target = "v1.4.2" if source == "v1.5.0" else "v1.5.0"
    started = time.time()
    killed = w.kill_at(marker, "apply", "local", "--to", target, "--yes", "--allow-data-loss", delay=delay)
    assert killed.code == -9, f"the apply finished before the kill point {marker!r}: {killed.out[-500:]}"
    seen = _assert_safe_after_kill(w, source, target, started)

    rerun = w.run("apply", "local", "--to", target, "--yes", "--allow-data-loss")
    assert rerun.code == 0, rerun.err
    db = w.db()
    assert _consistent(w) == w.released[target] and not db["frozen"] and db["jobs"] == ["pending"]
    assert not (w.checkpoint().get("pending_operations") or [])
    _assert_kept_values(w, target)
    assert not lock_path(f"file://{w.state}", "local").exists()
    assert not engine_locks(f"file://{w.state}", "local")
    OUTCOMES.append({"kill": marker, "delay": delay, "from": source, "to": target, **seen,
                     "rerun_warnings": [line for line in rerun.err.splitlines() if line.startswith("warning:")]})


def test_pending_operations_are_reported_then_cleared_by_apply(w):
    """A kill inside a slow health gate leaves a pending operation: status names it, apply clears and re-runs it."""
    source = _deployed_label(w)
    target = "v1.4.2" if source == "v1.5.0" else "v1.5.0"
    w.standin_meta(TARGETS[target], {"health": "fail"})  # the gate retries until the kill
    try:
        w.kill_at("… HealthGate", "apply", "local", "--to", target, "--yes", "--allow-data-loss", delay=1.5)
        pending = w.checkpoint().get("pending_operations") or []
        w.standin_meta(TARGETS[target], {"health": "ok"})
        assert [op["resource"]["type"] for op in pending] == ["pulumi-python:dynamic/rollback:HealthGate"]
        assert w.db()["frozen"]
        status = w.status()
        assert status["pending_operations"] and "release-health-checks" in status["pending_operations"][0]
        rerun = w.run("apply", "local", "--to", target, "--yes", "--allow-data-loss")
        assert rerun.code == 0, rerun.err
        assert "interrupted during 1 step(s) (updating release-health-checks)" in " ".join(rerun.err.split())
        assert _consistent(w) == w.released[target] and not w.db()["frozen"]  # type: ignore[attr-defined]
        assert w.status()["pending_operations"] == []
    finally:
        w.standin_meta(TARGETS[target], {"health": "ok"})


def test_sigkill_of_the_cli_alone_takes_its_engine_and_providers_with_it(w):
    """`kill -9` of the `rollback` process only (an OOM kill, a runner killing one pid): its engine is not left
    running on (pdeathsig), nor the engine's providers; the next apply converges."""
    source = _deployed_label(w)
    target = "v1.4.2" if source == "v1.5.0" else "v1.5.0"
    w.standin_meta(TARGETS[target], {"health": "fail"})  # inside a step when the kill lands
    try:
        killed = w.kill_at("… HealthGate", "apply", "local", "--to", target, "--yes", "--allow-data-loss",
                           delay=1.0, group=False)  # kill_at asserts that nothing of the run outlives it
    finally:
        w.standin_meta(TARGETS[target], {"health": "ok"})
    assert killed.code == -9
    rerun = w.run("apply", "local", "--to", target, "--yes", "--allow-data-loss")
    assert rerun.code == 0, rerun.err
    assert _consistent(w) == w.released[target] and not w.db()["frozen"]  # type: ignore[attr-defined]


def test_apply_after_a_kill_that_tore_the_checkpoint_metadata_converges(w):
    """A SIGKILL while the engine writes the checkpoint's `.attrs` sidecar leaves it empty; every engine read then
    fails. The next apply repairs it under its lock before reading what is deployed, and converges."""
    source = _deployed_label(w)
    target = "v1.4.2" if source == "v1.5.0" else "v1.5.0"
    sidecars = list(w.state.glob(".pulumi/stacks/*/local.json.attrs"))
    assert sidecars
    sidecars[0].write_text("")  # what the kill inside the engine's setAttrs leaves behind
    rerun = w.run("apply", "local", "--to", target, "--yes", "--allow-data-loss")
    assert rerun.code == 0, rerun.err
    assert "removed a torn metadata file" in " ".join(rerun.err.split())
    assert _consistent(w) == w.released[target]  # type: ignore[attr-defined]


def test_foreign_pending_operation_is_refused_with_the_commands_to_run(w):
    """A pending operation on a resource that is not one of our idempotent steps: refused, nothing changed."""
    source = _deployed_label(w)
    target = "v1.4.2" if source == "v1.5.0" else "v1.5.0"
    # `stack import` drops pending operations, so write one into the file:// checkpoint as a killed up leaves it
    path = next(w.state.glob(".pulumi/stacks/*/local.json"))
    original = path.read_text()
    doc = json.loads(original)
    latest = doc["checkpoint"]["latest"]
    res = next(r for r in latest["resources"] if r["type"].endswith("AliasAssignment"))
    foreign = {**res, "type": "aws:ssm/parameter:Parameter", "urn": res["urn"].replace("AliasAssignment", "Param")}
    latest["pending_operations"] = [{"resource": foreign, "type": "creating"}]
    path.write_text(json.dumps(doc))
    before = (_consistent(w), w.db(), w.checkpoint()["resources"])
    refused = w.run("apply", "local", "--to", target, "--yes", "--allow-data-loss")
    msg = " ".join(refused.err.split())
    assert refused.code == 1 and "pending operation(s)" in msg and "creating" in msg
    assert "pulumi stack export --stack local --file state.json" in msg and "pulumi stack import" in msg
    assert (_consistent(w), w.db(), w.checkpoint()["resources"]) == before
    path.write_text(original)


def test_concurrent_applies_exactly_one_proceeds(w):
    source = _deployed_label(w)
    target = "v1.4.2" if source == "v1.5.0" else "v1.5.0"
    w.standin_meta(TARGETS[target], {"health": "fail"})  # keeps the winner inside its rollout (healed below)
    # a stale lock of a killed rollout is there too: every contender may take it over, but only one may win
    lock = lock_path(f"file://{w.state}", "local")
    lock.write_text(json.dumps({"user": "ghost", "host": __import__("socket").gethostname(), "pid": 999999,
                                "since": "2026-01-01T00:00:00+00:00", "target": "v0", "reason": "killed"}))
    try:
        args = ("apply", "local", "--to", target, "--yes", "--allow-data-loss")
        procs = [w.start(*args, "--reason", f"contender {i}") for i in range(3)]
        time.sleep(12)  # every contender has resolved and tried the lock; the winner is retrying its gate
        w.standin_meta(TARGETS[target], {"health": "ok"})
        runs = [w.finish(p, args) for p in procs]
    finally:
        w.standin_meta(TARGETS[target], {"health": "ok"})
    winners = [r for r in runs if r.code == 0 and "applied" in r.out]
    refused = [r for r in runs if r.code == 1]
    assert len(winners) == 1 and len(refused) == 2, [(r.code, r.err[-300:]) for r in runs]
    for r in refused:
        assert "has a rollout in progress, held by" in r.err and "contender" in r.err and "Traceback" not in r.err
    assert _consistent(w) == w.released[target] and not w.db()["frozen"]  # type: ignore[attr-defined]
    assert not lock.exists()


def test_no_secret_anywhere(w, sandbox):
    """Scenario 7 over everything this module's runs produced: outputs, reports, state, engine and service logs."""
    secrets = {"pg_password": sandbox.secrets["pg_password"], "vercel_token": sandbox.secrets["vercel_token"],
               "aws_secret_access_key": sandbox.secrets["aws_secret_access_key"],
               "aws_access_key_id": sandbox.secrets["aws_access_key_id"]}
    assert len(w.outputs) >= 4  # the baseline applies at least; the whole module gives ~35 runs
    texts: dict[str, str] = {f"output {i}": t for i, t in enumerate(w.outputs)}
    for root in (w.base, Path.home() / ".pulumi" / "logs", Path(sandbox.root)):
        for p in root.rglob("*") if root.exists() else []:
            if p.is_file() and p.name != "sandbox.json" and p.stat().st_size < 20_000_000:  # (its credential store)
                texts[str(p)] = p.read_text(errors="replace")
    for p in Path("/tmp").glob("pulumi*.log*"):  # glog files of the engine and plugins, when any are written
        texts[str(p)] = p.read_text(errors="replace")
    export = w.run("export", "local", "--version", "1")
    texts["rollback export"] = export.out
    assert any(".pulumi/stacks" in k for k in texts), "the checkpoint was not scanned"
    leaks = [(name, where) for where, text in texts.items() for name, value in secrets.items() if value in text]
    assert not leaks, leaks


def test_zz_record_outcomes():
    """Writes the kill outcomes for docs/reliability.md (not an assertion of its own)."""
    import os

    if os.environ.get("FAULTS_OUTCOMES"):
        Path(os.environ["FAULTS_OUTCOMES"]).write_text(json.dumps(OUTCOMES, indent=1))
