"""`rollback watch` through the CLI on the sandbox: a healthy release becomes known-good; a dead letter queue that
starts growing mid-window fails the watch with its rate, exits with the rollback decision, and the Auto-rollback
workflow's steps, run as written, roll it back; a rollout started meanwhile interrupts the watch, recording nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from tests.databases import create_database, drop_database
from tests.operator.test_rollout_e2e import Operator
from tests.operator.test_workflows import load as load_workflow

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL = REPO_ROOT / "rollback_stacks" / "local"
DLQ = "SELECT count(*) FROM public.dead_letter_queue"  # the example app's queue: data of the version, not code


def version_doc(flags: dict[str, Any]) -> dict[str, Any]:
    """v1.5.0's document with a watch section: the DLQ may grow by at most 100 rows a minute (seed 000's flood),
    the error rate must stay under 5 % except for spikes shorter than 3 samples."""
    doc = yaml.safe_load((LOCAL / "versions" / "0003.yaml").read_text())
    for key in ("version", "created_at", "status", "status_history", "pulumi"):
        doc.pop(key, None)
    doc["jobs"]["flags"].update(flags)
    health = doc["health"]
    health["sql"] = [c for c in health["sql"] if c["name"] != "dead_letter_queue_empty"]
    health["watch"] = [
        {"name": "dead_letter_queue_growth", "sql": DLQ, "measure": "rate", "over_seconds": 5, "max": 100,
         "signal": "partial_degradation"},
        {"name": "error_rate_sustained", "check": "error_rate", "max": 0.05, "consecutive": 3}]
    return doc


@pytest.fixture
def o(sandbox, tmp_path) -> Any:
    """v1.5.1 (known-good, its watch section) deployed, then the release v1.6.0 (a candidate, its flags changed)."""
    from sandbox import seed_deployments

    seed_deployments(sandbox)
    project = tmp_path / "project"
    shutil.copytree(LOCAL, project / "rollback_stacks" / "local")
    (project / "Pulumi.local.yaml").write_text((REPO_ROOT / "Pulumi.local.yaml").read_text()
                                               + "  rollback:watch:\n    window: 3s\n    interval: 0.5s\n")
    (tmp_path / "state").mkdir()
    dsn = create_database(sandbox, "watch")
    op = Operator(sandbox, dsn, tmp_path / "state", tmp_path / "reports")
    op.env["ROLLBACK_PROJECT_DIR"] = str(project)
    op.project, op.tmp = project, tmp_path  # type: ignore[attr-defined]
    for label, status, flags in (("v1.5.1", "known-good", {}), ("v1.6.0", "candidate", {"notif_frequency_cap": 30})):
        doc = tmp_path / f"{label}.yaml"
        doc.write_text(yaml.safe_dump(version_doc(flags), sort_keys=False))
        proc = op.run("record", "local", "--label", label, "--from-file", str(doc), "--status", status,
                      "--git-sha", "d27b6e3")
        assert proc.returncode == 0, proc.stderr
    for label in ("v1.5.1", "v1.6.0"):
        proc = op.run("apply", "local", "--to", label, "--yes", "--reason", f"release {label}")
        assert proc.returncode == 0, proc.stderr
    yield op
    drop_database(sandbox, dsn)


def versions(op: Any) -> dict[str, dict[str, Any]]:
    proc = op.run("targets", "list", "local", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return {v["label"]: v for v in json.loads(proc.stdout)["versions"]}


def report(folder: Path) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    newest = max(folder.glob("local-watch-*/report.json"), key=lambda p: p.stat().st_mtime)
    samples = [json.loads(line) for line in (newest.parent / "samples.jsonl").read_text().splitlines()]
    return json.loads(newest.read_text()), (newest.parent / "report.md").read_text(), samples


def test_a_healthy_release_watched_for_a_short_window_becomes_known_good(o):
    assert versions(o)["v1.6.0"]["status"] == "candidate"
    proc = o.run("watch", "local")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "watch passed" in proc.stdout and "/7] 0:00/0:03" in proc.stdout  # 3 s every 0.5 s: up to 7 samples
    after = versions(o)["v1.6.0"]
    assert after["status"] == "known-good" and after["watched_at"] and after["watch_window_seconds"] == 3
    rep, md, samples = report(o.reports)
    n = rep["samples"]
    assert rep["outcome"] == "passed" and rep["recorded_known_good"] and n == len(samples) >= 4  # slow samples: fewer
    assert samples[-1]["t"] >= 3 and all(c["state"] == "ok" for c in samples[-1]["checks"].values())
    doc = yaml.safe_load(next((o.project / "rollback_stacks/local/versions").glob("0005.yaml")).read_text())
    assert doc["status_history"][-1]["reason"] == f"watch passed: {n} samples over 3 s"
    assert doc["watches"][0]["samples"] == n and (Path(doc["watches"][0]["report"]) / "samples.jsonl").is_file()
    assert {c["name"] for c in rep["checks"]} >= {"app", "dead_letter_queue_growth", "error_rate_sustained"}
    assert "error_rate" not in {c["name"] for c in rep["checks"]}  # sampled under the watch entry's bounds instead
    assert "## Over the window" in md and md.count("\n| ") >= n + len(rep["checks"])
    listed = o.run("targets", "list", "local")
    assert "watched" in listed.stdout and "(3s)" in listed.stdout
    applied = o.run("apply", "local", "--to", "v1.5.1", "--yes", "--reason", "roll back, then watch", "--watch", "2s")
    assert applied.returncode == 0, applied.stdout + applied.stderr  # apply, then the watch of what it applied
    assert applied.stdout.index("applied v1.5.1 to local") < applied.stdout.index("watch passed: v1.5.1")
    assert versions(o)["v1.5.1"]["watch_window_seconds"] == 2 and o.deployed()["label"] == "v1.5.1"
    o.run("status", "local")  # no secret in any output (the module's scan)
    for text in o.outputs + [md, json.dumps(rep)]:
        for secret in o.sandbox.secret_values():
            assert secret not in text


def _step(workflow: str, job: str, name_start: str) -> str:
    return next(s["run"] for s in load_workflow(workflow)["jobs"][job]["steps"]
                if s.get("name", "").startswith(name_start))


def test_a_growing_dead_letter_queue_fails_the_watch_and_the_auto_rollback_rolls_it_back(o):
    work = o.tmp / "runner"
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.prefix))  # the workflows call .venv/bin/rollback, as after `make venv`
    summary, outputs = work / "summary.md", work / "outputs.txt"
    env = {**o.env, "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs),
           "ROLLBACK_REPORT_DIR": "reports"}
    watch = subprocess.Popen(["bash", "-e", "-c", _step("watch.yml", "watch", "Watch the deployed version")], cwd=work,
                             env={**env, "INPUT_STACK": "local", "WINDOW": "30s"}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert watch.stdout is not None
    lines: list[str] = []
    for line in watch.stdout:  # healthy for the first samples, then the workers start dead-lettering
        lines.append(line)
        if "[ 4/" in line:
            break
    done = threading.Event()

    def flood() -> None:
        with psycopg.connect(o.dsn, autocommit=True) as conn:
            while not done.is_set():
                conn.execute("INSERT INTO public.dead_letter_queue (kind, error) SELECT 'notif_send', 'rate limited' "
                             "FROM generate_series(1, 10)")
                time.sleep(0.25)

    flooder = threading.Thread(target=flood)
    flooder.start()
    try:
        out, err = watch.communicate(timeout=120)
    finally:
        done.set()
        flooder.join()
    text = "".join(lines) + out
    assert watch.returncode == 3, text + err
    assert "watch failed" in text and "dead_letter_queue_growth: rate" in text
    assert "/min is above the maximum 100/min" in text
    assert "decision: ROLLBACK to last-good (P1" in text
    validation = json.loads((work / "validation" / "validation.json").read_text())
    assert validation["signals"] == {"partial_degradation": True}
    assert [c["name"] for c in validation["failing_checks"]] == ["dead_letter_queue_growth"]
    assert "Watch of local" in summary.read_text()
    assert versions(o)["v1.6.0"]["status"] == "candidate"  # a failed watch records nothing

    decide = subprocess.run(["bash", "-e", "-c", _step("auto-rollback.yml", "decide", "Decide")], cwd=work,
                            env={**env, "INPUT_STACK": "", "OVERRIDE": "false", "OVERRIDE_REASON": "",
                                 "OVERRIDE_APPROVER": "", "VALIDATION_RUN": "watch"},
                            capture_output=True, text=True, timeout=120)
    assert decide.returncode == 0, decide.stdout + decide.stderr
    got = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert got["action"] == "rollback" and got["stack"] == "local", got
    rollback = subprocess.run(["bash", "-e", "-c", _step("auto-rollback.yml", "rollback", "Roll back to last-good")],
                              cwd=work, env={**env, "STACK": got["stack"], "REASON": got["reason"],
                                             "ROLLBACK_APPROVER": ""},
                              capture_output=True, text=True, timeout=300)
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    assert "applied v1.5.1 to local" in rollback.stdout
    assert o.deployed()["label"] == "v1.5.1" and o.flags()["notif_frequency_cap"] == 20


def test_a_rollout_started_during_the_watch_interrupts_it_and_nothing_is_recorded(o):
    watch = o.start("watch", "local", "--for", "2m")
    assert watch.stdout is not None
    first = watch.stdout.readline()
    assert first.startswith("watching local for 2m"), first
    assert "[" in watch.stdout.readline()  # the first sample
    other = o.run("apply", "local", "--to", "v1.5.1", "--components", "jobs", "--yes", "--reason", "another rollout")
    out, err = watch.communicate(timeout=120)
    assert other.returncode == 0, other.stderr
    assert watch.returncode == 7, out + err
    assert "watch interrupted" in out and "nothing recorded" in out
    assert versions(o)["v1.6.0"]["status"] == "candidate" and versions(o)["v1.6.0"]["watched_at"] is None
    rep, _, _ = report(o.reports)
    assert rep["outcome"] == "interrupted" and not rep["recorded_known_good"] and rep["decision"] is None
    partly = o.run("watch", "local")  # v1.5.1's job flags over v1.6.0: no version is deployed whole
    assert partly.returncode == 1 and "is deployed in part only (components jobs" in partly.stderr, partly.stderr
