"""Job control steps: freeze (first) pauses workers, release (last) sets the target flags and resumes them.

postgres backend: schema `rollback_control` holds `flags` (name -> jsonb value) and the single-row `rollout`
(frozen, rollout id); pending public.worker_jobs are paused on freeze and resumed on release (seed 000).
http backend: POST {admin_url}/pause-all on freeze; POST /flags then /resume-all on release (seed 003).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx
import psycopg
import pulumi
from psycopg.types.json import Jsonb
from pulumi.dynamic import ReadResult, Resource

from components import runtime_env
from components.providers.base import StepProvider

CONTROL_DDL = """
CREATE SCHEMA IF NOT EXISTS rollback_control;
CREATE TABLE IF NOT EXISTS rollback_control.flags (
  name text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS rollback_control.rollout (
  id boolean PRIMARY KEY DEFAULT true CHECK (id), rollout text NOT NULL, frozen boolean NOT NULL,
  frozen_at timestamptz, released_at timestamptz)
"""
FREEZE = """
INSERT INTO rollback_control.rollout (rollout, frozen, frozen_at) VALUES (%s, true, now())
ON CONFLICT (id) DO UPDATE SET rollout = excluded.rollout, frozen = true, frozen_at = now()
"""
RELEASE = """
INSERT INTO rollback_control.rollout (rollout, frozen, released_at) VALUES (%s, false, now())
ON CONFLICT (id) DO UPDATE SET rollout = excluded.rollout, frozen = false, released_at = now()
"""
UPSERT_FLAG = """
INSERT INTO rollback_control.flags (name, value) VALUES (%s, %s)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = now()
WHERE rollback_control.flags.value IS DISTINCT FROM excluded.value
"""


def _worker_job_columns(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute("SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND table_name = 'worker_jobs'").fetchall()
    return {r[0] for r in rows}


def pause_pending_jobs(conn: psycopg.Connection) -> int:
    """Seed 000's pause: pending -> paused; 0 when the app has no worker_jobs table (yet)."""
    cols = _worker_job_columns(conn)
    if "status" not in cols:
        return 0
    extra = ", updated_at = now()" if "updated_at" in cols else ""
    return conn.execute(f"UPDATE public.worker_jobs SET status = 'paused'{extra} WHERE status = 'pending'").rowcount


def resume_paused_jobs(conn: psycopg.Connection) -> int:
    """Seed 000's resume: paused -> pending, due now, error cleared."""
    cols = _worker_job_columns(conn)
    if "status" not in cols:
        return 0
    extra = "".join(f", {c} = {v}" for c, v in (("next_run_at", "now()"), ("error", "NULL"), ("updated_at", "now()"))
                    if c in cols)
    return conn.execute(f"UPDATE public.worker_jobs SET status = 'pending'{extra} WHERE status = 'paused'").rowcount


def read_control(dsn: str) -> dict[str, Any]:
    """Current flags and rollout row of the postgres backend ({} when never frozen)."""
    with psycopg.connect(dsn) as conn:
        if conn.execute("SELECT to_regclass('rollback_control.rollout')").fetchone()[0] is None:
            return {}
        row = conn.execute("SELECT rollout, frozen FROM rollback_control.rollout").fetchone()
        flags = dict(conn.execute("SELECT name, value FROM rollback_control.flags ORDER BY name").fetchall())
    return {"rollout": row[0] if row else None, "frozen": bool(row[1]) if row else False, "flags": flags}


def _admin_post(props: dict[str, Any], path: str, body: dict[str, Any]) -> None:
    url = runtime_env.expand(str(props["admin_url"])).rstrip("/") + path
    token = os.environ.get("ROLLBACK_ADMIN_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = httpx.post(url, json=body, headers=headers, timeout=15.0)
    if resp.status_code >= 300:
        raise RuntimeError(f"POST {props['admin_url']}{path} answered HTTP {resp.status_code}")


class JobFreezeProvider(StepProvider):
    """Freezes jobs when the rollout id changes (nothing to do when the target is unchanged)."""

    step = "jobs freeze"
    keys = ("backend", "rollout_id", "admin_url")

    def apply(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """Mark the rollout frozen and pause pending jobs (one transaction)."""
        paused = 0
        if news["backend"] == "postgres":
            with psycopg.connect(runtime_env.database_url()) as conn:
                conn.execute(CONTROL_DDL)
                conn.execute(FREEZE, (news["rollout_id"],))
                paused = pause_pending_jobs(conn)
        elif news["backend"] == "http":
            _admin_post(news, "/pause-all", {"rollout": news["rollout_id"]})
        else:
            raise ValueError(f"unsupported jobs backend {news['backend']!r} for the dynamic freeze step")
        # A new token per freeze act: the health gate and release key on it, so a rollout that failed midway
        # and is then retargeted to the previously released state still re-gates and releases.
        token = f"{news['rollout_id']}@{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}#{time.time_ns() % 10**6}"
        return {**news, "frozen": True, "paused_jobs": paused, "freeze_token": token}

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: the live frozen state (postgres backend)."""
        if props.get("backend") != "postgres":
            return ReadResult(id_, props)
        live = read_control(runtime_env.database_url())
        return ReadResult(id_, {**props, "frozen": bool(live.get("frozen"))})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Destroying the stack leaves jobs as they are (never resumes behind the operator's back)."""


class JobReleaseProvider(StepProvider):
    """Sets the target's flags and resumes jobs; runs last, only after every other step passed."""

    step = "jobs release"
    keys = ("backend", "rollout_id", "flags", "admin_url", "jobs_frozen_by")

    def apply(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """Flags to target values (removing flags the target lacks), resume jobs, clear the freeze."""
        flags: dict[str, Any] = dict(news.get("flags") or {})
        resumed = 0
        if news["backend"] == "postgres":
            with psycopg.connect(runtime_env.database_url()) as conn:
                conn.execute(CONTROL_DDL)
                for name, value in sorted(flags.items()):
                    conn.execute(UPSERT_FLAG, (name, Jsonb(value)))
                conn.execute("DELETE FROM rollback_control.flags WHERE NOT (name = ANY(%s))", (sorted(flags),))
                resumed = resume_paused_jobs(conn)
                conn.execute(RELEASE, (news["rollout_id"],))
        elif news["backend"] == "http":
            _admin_post(news, "/flags", {"flags": flags})
            _admin_post(news, "/resume-all", {"rollout": news["rollout_id"]})
        else:
            raise ValueError(f"unsupported jobs backend {news['backend']!r} for the dynamic release step")
        return {**news, "frozen": False, "resumed_jobs": resumed}

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: live flags and frozen state (postgres backend)."""
        if props.get("backend") != "postgres":
            return ReadResult(id_, props)
        live = read_control(runtime_env.database_url())
        flags = {k: json.loads(json.dumps(v)) for k, v in (live.get("flags") or {}).items()}
        return ReadResult(id_, {**props, "flags": flags, "frozen": bool(live.get("frozen"))})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Destroying the stack keeps the flags."""


class JobFreeze(Resource, module="rollback", name="JobFreeze"):
    """The freeze step of a rollout."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        outs = {"frozen": None, "paused_jobs": None, "freeze_token": None}
        super().__init__(JobFreezeProvider(), name, {**outs, **props}, opts)


class JobRelease(Resource, module="rollback", name="JobRelease"):
    """The release step of a rollout."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(JobReleaseProvider(), name, {"frozen": None, "resumed_jobs": None, **props}, opts)
