"""Each benchmark script in its tiny --smoke mode (1 run, tiny sizes): it runs and writes a well-formed result.

Benchmarks are never timed assertions: these only keep the scripts from rotting (`make bench` measures)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import markdown

REPO = Path(__file__).resolve().parents[2]


def _smoke(name: str, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", f"bench.{name}", "--smoke", "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "scenario" in proc.stdout and "ratio" in proc.stdout  # the printed table
    doc = json.loads((out / f"{name}.json").read_text())
    assert doc["benchmark"] == name and doc["smoke"] is True
    assert doc["machine"]["nproc"] >= 1 and len(doc["machine"]["loadavg"]) == 3
    assert doc["rows"], doc
    for row in doc["rows"]:
        assert row["ours_s"] >= 0 and row["runs"] >= 1 and row["goal"]
        assert row["baseline_s"] is None or row["baseline_s"] >= 0
        assert row["met"] in (True, False, None)
    assert markdown(doc["rows"]).count("\n") == len(doc["rows"]) + 2
    return doc


@pytest.mark.parametrize("name", ["startup", "plan_scale", "migrations", "snapshot", "keep", "uponly", "watch"])
def test_bench_smoke(name, tmp_path):
    doc = _smoke(name, tmp_path)
    if name == "plan_scale":
        assert any(r["case"].startswith("offline diff json") for r in doc["rows"])
    if name == "uponly":
        first, _, second = doc["rows"]
        assert first["baseline_s"] > 0 and first["ratio"] > 0 and second["ours_s"] > 0
        assert first["extra"]["statements"] > 0 and first["extra"]["breakdown_median_s"]  # planned, not refused
    if name == "watch":
        small, large = doc["rows"]
        assert large["extra"]["ours"][0]["samples"] == 10 * small["extra"]["ours"][0]["samples"]
        assert all(r["extra"]["ours"][0]["traced_retained_kib"] > 0 for r in doc["rows"])


@pytest.mark.e2e
def test_bench_e2e_smoke(tmp_path):
    doc = _smoke("e2e", tmp_path)
    row = doc["rows"][0]
    assert row["baseline_s"] > 0 and row["ratio"] > 0
    assert row["extra"]["steps_median_s"]  # the tool's report was read
    to_alias = [r for r in doc["rows"] if r["case"].startswith("apply start → alias on target")
                and "kept" not in r["case"]]
    assert len(to_alias) == 2  # the 1 GiB size and the larger one
    assert 0 < to_alias[0]["ours_s"] < row["ours_s"]  # the alias moved before the apply ended
    kept = next(r for r in doc["rows"] if r["case"].endswith("rollback:snapshot kept") and r["baseline_s"])
    assert kept["ratio"] > 0 and kept["extra"]["steps_median_s"]  # rollback:snapshot kept: no snapshot taken
    ops = kept["extra"]["steps_op"]
    assert ops.get("release-schema-migrate") == "update"
    assert all(op == "delete" for step, op in ops.items() if "snapshot" in step), ops  # only the old one's record


@pytest.mark.e2e
def test_bench_traffic_smoke(tmp_path):
    doc = _smoke("traffic", tmp_path)
    assert len(doc["rows"]) == 6  # p99, longest statement, longest gap: on the db host, then niced
    p99, longest, gap = doc["rows"][:3]
    assert p99["baseline_s"] > 0 and p99["ours_s"] > 0 and p99["ratio"] > 0  # idle and rollout both measured
    assert set(p99["extra"]["phases"][0]) == {"idle", "rollback", "release"}
    assert all(phase["completed"] > 0 for phase in p99["extra"]["phases"][0].values())
    assert "0 errors" in longest["case"] and 0 < longest["ours_s"] and 0 < gap["ours_s"]
