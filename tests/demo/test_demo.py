"""`rollback demo` end to end, as `make demo` runs it: no TTY, its own sandbox, twice (idempotent)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rollback.engine import REPO_ROOT

pytestmark = pytest.mark.e2e

# Runs the real CLI, but records the credentials of the sandbox the demo starts, so the test can look for them.
RECORDING_LAUNCHER = """
import json, sys
import sandbox
_up, _out = sandbox.up, sys.argv[1]
def up(root):
    sb = _up(root)
    with open(_out, "w") as f:
        json.dump(sb.secret_values(), f)
    return sb
sandbox.up = up
sys.argv = ["rollback", *sys.argv[2:]]
from rollback.cli import main
main()
"""


def tracked_record_changes() -> str:
    """`git status` of the tracked files under rollback_stacks/ (the demo must never write there)."""
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "rollback_stacks"],
                          cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout


def run_demo(argv: list[str], tmp: Path, name: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run the demo without a TTY; returns the process and its --summary JSON."""
    summary = tmp / f"{name}.json"
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "ROLLBACK_SANDBOX_DIR", "DATABASE_URL")}
    proc = subprocess.run([*argv, "demo", "--report-dir", str(tmp / "reports"), "--summary", str(summary)],
                          cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=300)
    return proc, json.loads(summary.read_text())


def assert_final_state(proc: subprocess.CompletedProcess[str], summary: dict[str, Any]) -> None:
    """Exit 0, schema/alias/flags of v1.4.2, jobs resumed, nothing left running."""
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "\x1b[" not in proc.stdout, "piped output must be plain"
    assert summary["ok"] is True
    assert summary["schema_version"] == 3 and not summary["schema_dirty"]
    assert summary["alias"] == "dpl_v142"
    assert summary["flags"] == summary["expected"]["flags"] and summary["expected"]["label"] == "v1.4.2"
    assert summary["flags"]["feature_notification_digests"] is False and summary["flags"]["notif_frequency_cap"] == 5
    assert summary["jobs_frozen"] is False and summary["dead_letter_queue"] == 0
    assert summary["jobs"].get("paused", 0) == 0 and summary["jobs"]["pending"] > 0
    assert not summary["worker_fail_job_retries"]
    report = Path(summary["report"])
    assert json.loads((report / "report.json").read_text())["outcome"] == "succeeded"
    assert json.loads((report / "report.json").read_text())["decision"]["action"] == "rollback"
    assert_nothing_left(summary)


def assert_nothing_left(summary: dict[str, Any]) -> None:
    """The sandbox directory is gone, no process mentions it, its ports are closed."""
    root = summary["sandbox_dir"]
    assert summary["sandbox_removed"] and not Path(root).exists()
    for proc_dir in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        assert root not in cmdline, f"process {proc_dir.name} still runs in the demo's sandbox: {cmdline}"
    for service, port in summary["ports"].items():
        with socket.socket() as s:
            s.settimeout(1)
            assert s.connect_ex(("127.0.0.1", int(port))) != 0, f"{service} still listens on {port}"


def test_demo_tells_the_story_and_is_idempotent(tmp_path: Path) -> None:
    """Two runs in a row succeed, end on v1.4.2, print no secret and leave the checkout's record untouched."""
    before = tracked_record_changes()
    secrets_file = tmp_path / "secrets.json"
    first, summary = run_demo([sys.executable, "-c", RECORDING_LAUNCHER, str(secrets_file)], tmp_path, "first")
    assert_final_state(first, summary)
    secrets = json.loads(secrets_file.read_text())
    assert len(secrets) == 6 and all(len(s) >= 16 for s in secrets)  # pg, aws x2, vercel, passphrase, redis
    for secret in secrets:
        assert secret not in first.stdout + first.stderr
        assert secret not in (tmp_path / "first.json").read_text()
    for phase in ("sandbox", "release v1.4.2", "incident", "rollback decide", "rollback plan", "rollback apply",
                  "report", "second plan has no changes"):
        assert phase in first.stdout, phase
    assert "dead_letter_queue_empty      120 is above the maximum 0" in first.stdout
    assert "decision: ROLLBACK to last-good" in first.stdout
    assert "No changes. The stack already matches the target." in first.stdout
    assert tracked_record_changes() == before

    second, summary2 = run_demo([str(Path(sys.executable).parent / "rollback")], tmp_path, "second")
    assert_final_state(second, summary2)
    assert summary2["sandbox_dir"] != summary["sandbox_dir"]
    assert tracked_record_changes() == before


def test_demo_failure_is_one_line_and_cleans_up(tmp_path: Path) -> None:
    """A demo that cannot finish (here: no engine) exits 1 with one error line and leaves no sandbox behind."""
    env = {**os.environ, "PATH": "/usr/bin:/bin", "ROLLBACK_CACHE": str(tmp_path / "no-cache")}
    summary = tmp_path / "summary.json"
    proc = subprocess.run([sys.executable, "-c", "from rollback.cli import main; main()", "demo", "--report-dir",
                           str(tmp_path / "reports"), "--summary", str(summary)], cwd=REPO_ROOT, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    data = json.loads(summary.read_text())
    assert data["ok"] is False and data["error"]
    assert_nothing_left({**data, "ports": data.get("ports", {})})
