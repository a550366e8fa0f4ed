"""`rollback sandbox up/env/down` from a shell: services reachable, nothing left behind."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import httpx
import psycopg

from sandbox.processes import alive

ROLLBACK = [sys.executable, "-c", "from rollback.cli import main; main()"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ROLLBACK, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def _parse_exports(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        assert line.startswith("export "), line
        name, _, value = line[len("export "):].partition("=")
        out[name] = shlex.split(value)[0] if value else ""
    return out


def test_up_env_down_leaves_nothing(tmp_path: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="rollback-cli-sandbox-"))
    root.rmdir()
    env = {"ROLLBACK_SANDBOX_DIR": str(root)}

    up = _run("sandbox", "up", env=env)
    assert up.returncode == 0, up.stderr
    try:
        again = _run("sandbox", "up", env=env)
        assert again.returncode == 1 and "already running" in again.stderr and "Traceback" not in again.stderr

        shown = _run("sandbox", "env", env=env)
        assert shown.returncode == 0, shown.stderr
        exports = _parse_exports(shown.stdout)
        expected = {"DATABASE_URL", "AWS_ENDPOINT_URL", "VERCEL_API_URL", "VERCEL_TOKEN", "PULUMI_BACKEND_URL"}
        assert expected <= set(exports)
        # eval-able by a real shell
        echoed = subprocess.run(["bash", "-c", f'eval "{shown.stdout}"; echo "$DATABASE_URL"'],
                                capture_output=True, text=True, check=True).stdout.strip()
        assert echoed == exports["DATABASE_URL"]

        with psycopg.connect(exports["DATABASE_URL"]) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == "app"
        s3 = boto3.client("s3", endpoint_url=exports["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"])
        assert "rollback-snapshots" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        headers = {"Authorization": f"Bearer {exports['VERCEL_TOKEN']}"}
        assert httpx.get(f"{exports['VERCEL_API_URL']}/v4/aliases", headers=headers).status_code == 200
        assert httpx.get(f"{exports['VERCEL_API_URL']}/v4/aliases").status_code == 403
        assert all(h.startswith("127.0.0.1") for h in [exports["AWS_ENDPOINT_URL"][7:], exports["VERCEL_API_URL"][7:]])

        pids = [v["pid"] for k, v in json.loads((root / "sandbox.json").read_text()).items()
                if k in ("pg", "moto", "vercel")]
        assert all(alive(int(p)) for p in pids)
    finally:
        down = _run("sandbox", "down", env=env)
    assert down.returncode == 0, down.stderr
    assert not root.exists()
    assert not any(alive(int(p)) for p in pids)
    gone = _run("sandbox", "env", env=env)
    assert gone.returncode == 1 and "rollback sandbox up" in gone.stderr and "Traceback" not in gone.stderr


def test_up_with_the_s3_backend_keeps_the_local_stack_in_moto(tmp_path: Path, engine_dir: Path) -> None:
    """`sandbox up --backend s3`: PULUMI_BACKEND_URL names the moto bucket and an apply's state lands there."""
    root = Path(tempfile.mkdtemp(prefix="rollback-cli-sandbox-s3-"))
    root.rmdir()
    env = {"ROLLBACK_SANDBOX_DIR": str(root)}
    bad = _run("sandbox", "up", "--backend", "gcs", env=env)
    assert bad.returncode == 1 and "--backend 'gcs'" in bad.stderr and "file, s3" in bad.stderr
    assert not root.exists()
    up = _run("sandbox", "up", "--backend", "s3", env=env)
    assert up.returncode == 0, up.stderr
    try:
        assert "state: s3://rollback-state" in up.stdout
        exports = _parse_exports(_run("sandbox", "env", env=env).stdout)
        assert exports["PULUMI_BACKEND_URL"].startswith("s3://rollback-state?")
        run_env = {**exports, "PATH": f"{engine_dir}:{os.environ['PATH']}", "ROLLBACK_REPORT_DIR": str(tmp_path)}
        applied = _run("apply", "local", "--to", "v1.4.2", "--yes", env=run_env)
        assert applied.returncode == 0, applied.stderr
        s3 = boto3.client("s3", endpoint_url=exports["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"])
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="rollback-state")["Contents"]]
        assert ".pulumi/stacks/rollback-as-code/local.json" in keys
        assert not [k for k in keys if k.startswith((".rollback-locks/", ".pulumi/locks/"))], keys  # all released
        status = _run("status", "local", env=run_env)
        assert status.returncode == 0 and "v1.4.2" in status.stdout, status.stderr
    finally:
        down = _run("sandbox", "down", env=env)
    assert down.returncode == 0 and not root.exists()
