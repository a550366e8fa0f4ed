"""Fault-suite helpers: the `rollback` CLI as a killable subprocess, and probes of the database, alias, S3, state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.databases import create_database, drop_database
from tests.processes import MARK, outliving

ALIAS = "app.example.test"
CLI = [sys.executable, "-c", "from rollback.cli import main; main()"]


@dataclass
class Run:
    """One finished (or killed) CLI run."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str
    killed_at: str | None = None


@dataclass
class World:
    """One test module's database, state backend and report dir, driven through the real CLI."""

    sandbox: Any
    dsn: str
    base: Path
    outputs: list[str] = field(default_factory=list)

    @property
    def state(self) -> Path:
        return self.base / "state"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, **self.sandbox.env(), "DATABASE_URL": self.dsn,
                "PULUMI_BACKEND_URL": f"file://{self.state}", "ROLLBACK_REPORT_DIR": str(self.base / "reports"),
                "NO_COLOR": "1", "COLUMNS": "200", "ROLLBACK_INITIATOR": "fault-suite"}

    def command(self, *args: str) -> list[str]:
        """The argv of `rollback args…` on this machine."""
        return [*CLI, *args]

    def start(self, *args: str, mark: str = "") -> subprocess.Popen[str]:
        """`rollback args…` in its own process group; with mark, its processes carry it (else the session's)."""
        env = {**self.env, **({MARK: mark} if mark else {})}
        return subprocess.Popen(self.command(*args), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def finish(self, proc: subprocess.Popen[str], args: tuple[str, ...], killed_at: str | None = None) -> Run:
        out, err = proc.communicate(timeout=300)
        self.outputs += [out, err]
        return Run(args, proc.returncode, out, err, killed_at)

    def run(self, *args: str) -> Run:
        """Run to completion; never a traceback."""
        run = self.finish(self.start(*args), args)
        assert "Traceback" not in run.out + run.err, run.err
        return run

    def kill_at(self, marker: str, *args: str, delay: float = 0.0, group: bool = True) -> Run:
        """Run, and SIGKILL the whole process group (or, group=False, the `rollback` process alone) `delay` s after
        the first stdout line containing marker; nothing it started may outlive it (the engine's providers live in
        process groups of their own)."""
        mark = uuid.uuid4().hex
        proc = self.start(*args, mark=mark)
        assert proc.stdout is not None
        seen: list[str] = []
        for line in proc.stdout:
            seen.append(line)
            if marker in line:
                time.sleep(delay)
                (os.killpg if group else os.kill)(proc.pid, signal.SIGKILL)
                break
        out, err = proc.communicate(timeout=60)
        left = outliving(mark, timeout=10)
        assert not left, f"processes outlived the killed rollout (killed now): {left}"
        self.outputs += ["".join(seen) + out, err]
        return Run(args, proc.returncode, "".join(seen) + out, err, marker)

    def sql(self, query: str, *params: Any) -> list[tuple]:
        with psycopg.connect(self.dsn) as conn:
            cur = conn.execute(query, params or None)
            return cur.fetchall() if cur.description else []

    def db(self) -> dict[str, Any]:
        """What the fault checks compare: schema row, freeze, flags, job statuses, function bodies."""
        rows = self.sql("SELECT version, dirty FROM schema_migrations")
        control = self.sql("SELECT frozen FROM rollback_control.rollout") if self.sql(
            "SELECT to_regclass('rollback_control.rollout')")[0][0] else []
        return {"schema": rows[0] if rows else None, "frozen": bool(control and control[0][0]),
                "flags": dict(self.sql("SELECT name, value FROM rollback_control.flags")) if control else {},
                "jobs": sorted(r[0] for r in self.sql("SELECT status FROM worker_jobs"))
                if self.sql("SELECT to_regclass('public.worker_jobs')")[0][0] else [],
                "functions": sorted(r[0] for r in self.sql(
                    "SELECT md5(pg_get_functiondef(p.oid)) FROM pg_proc p JOIN pg_namespace n ON n.oid = "
                    "p.pronamespace WHERE n.nspname = 'public' AND p.proname IN ('notif_send', 'worker_fail_job')"))}

    def alias(self) -> str | None:
        env = self.sandbox.env()
        resp = httpx.get(f"{env['VERCEL_API_URL']}/v4/aliases/{ALIAS}", timeout=10,
                         headers={"Authorization": f"Bearer {env['VERCEL_TOKEN']}"})
        return resp.json()["deploymentId"] if resp.status_code == 200 else None

    def standin_meta(self, deployment: str, meta: dict[str, Any]) -> None:
        env = self.sandbox.env()
        httpx.patch(f"{env['VERCEL_API_URL']}/_standin/deployments/{deployment}", json={"meta": meta}, timeout=10,
                    headers={"Authorization": f"Bearer {env['VERCEL_TOKEN']}"}).raise_for_status()

    def checkpoint(self) -> dict[str, Any]:
        """The stack's latest checkpoint in the file:// backend."""
        files = list(self.state.glob(".pulumi/stacks/*/local.json"))
        return json.loads(files[0].read_text())["checkpoint"]["latest"] if files else {}

    def status(self) -> dict[str, Any]:
        run = self.run("status", "local", "--format", "json")
        assert run.code == 0, run.err
        return json.loads(run.out)

    def snapshots_since(self, since: float) -> list[str]:
        """S3 snapshot keys of the `local` prefix written at or after `since` (epoch seconds)."""
        import boto3

        env = self.sandbox.env()
        s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
        objs = s3.list_objects_v2(Bucket=env["ROLLBACK_SNAPSHOT_BUCKET"], Prefix="local/").get("Contents", [])
        return [o["Key"] for o in objs if o["LastModified"].timestamp() >= since - 1.5]


def world(sandbox: Any, base: Path, prefix: str) -> Iterator[World]:
    """Generator behind the fault fixtures: a database and backend made and dropped around a module or test."""
    from sandbox import seed_deployments

    seed_deployments(sandbox)  # resets stand-in meta (health_fail_first) of the stack's deployments
    (base / "state").mkdir(parents=True, exist_ok=True)
    dsn = create_database(sandbox, prefix)
    try:
        yield World(sandbox, dsn, base)
    finally:
        drop_database(sandbox, dsn)


@pytest.fixture
def fresh(sandbox, engine_dir, tmp_path) -> Iterator[World]:
    """A per-test world with nothing deployed."""
    yield from world(sandbox, tmp_path, "fault")


from tests.components.conftest import db, migrations  # noqa: E402,F401  (fixtures for provider-level checks)
