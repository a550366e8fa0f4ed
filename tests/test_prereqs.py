"""Set-up that sets up: the machine check before anything slow (tools/prereqs.py), the builds' own messages, and the
report of what the demo and the tests run on (sandbox.prereqs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _bare_env(tmp_path: Path) -> dict[str, str]:
    """PATH without pulumi or Go, and an empty engine cache."""
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("bash", "sh", "awk", "dirname", "mktemp", "cat", "env", "date", "rm", "mkdir", "sha256sum", "cut"):
        for d in ("/usr/bin", "/bin"):
            if Path(d, tool).exists():
                os.symlink(Path(d, tool), bare / tool)
                break
    return {"PATH": str(bare), "HOME": str(tmp_path), "ROLLBACK_CACHE": str(tmp_path / "cache")}


def test_engine_build_without_go_or_pulumi_says_what_to_do(tmp_path: Path) -> None:
    proc = subprocess.run(["bash", str(REPO / "tools/pulumi-engine/build.sh")], capture_output=True, text=True,
                          env=_bare_env(tmp_path))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "install" in lines[0] and "make engine" in lines[0]
    assert proc.stdout == ""


def test_prereqs_without_engine_names_everything_missing_no_traceback(tmp_path: Path) -> None:
    env = _bare_env(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "sandbox.prereqs", "demo"], capture_output=True, text=True, cwd=REPO,
                          env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: `make demo` cannot run: 2 prerequisites missing:")
    assert "Pulumi engine not found" in proc.stderr and "install" in proc.stderr and "redis-server" in proc.stderr


def test_prereqs_reports_engine_version() -> None:
    proc = subprocess.run([sys.executable, "-m", "sandbox.prereqs"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("pulumi version: v")


def test_node_oracles_without_npm_says_what_to_do(tmp_path: Path) -> None:
    env = _bare_env(tmp_path)
    proc = subprocess.run(["bash", str(REPO / "tools/node/build.sh")], capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "npm" in lines[0] and "make node-oracles" in lines[0]


def test_prereqs_reports_the_oracles_and_redis() -> None:
    proc = subprocess.run([sys.executable, "-m", "sandbox.prereqs", "test"], capture_output=True, text=True, cwd=REPO)
    assert "npm oracles: " in proc.stdout and "redis: " in proc.stdout and "jq: " in proc.stdout


def test_prereqs_for_the_demo_skip_the_test_oracles() -> None:
    proc = subprocess.run([sys.executable, "-m", "sandbox.prereqs", "demo"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "redis: " in proc.stdout
    assert not any(name in proc.stdout for name in ("golang-migrate", "pg-schema-diff", "npm oracles", "jq"))
