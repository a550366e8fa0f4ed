"""Job control steps: freeze (first) pauses workers and waits until drained, release (last) sets the target flags
and resumes them.

postgres, sql, bullmq: the app database's schema `rollback_control` holds `flags` (name -> jsonb value) and the
single-row `rollout` (frozen, rollout id); sql also runs the stack's pause/resume statements, bullmq pauses the
stack's BullMQ queues (components/providers/queues/). http: POST {adminUrl}/pause-all on freeze; POST /flags then
/resume-all on release (the pause-all / resume-all admin API of README: Job queues).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import psycopg
import psycopg.errors
import pulumi
from psycopg.types.json import Jsonb
from pulumi.dynamic import ReadResult, Resource

from components import runtime_env
from components.jobs_settings import TABLE_FLAGS
from components.providers import locks
from components.providers.base import StepProvider, scalar
from components.providers.queues import bullmq, http, sql
from components.providers.retrying import Budget

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


def _count_running(cfg: dict[str, Any], guard: locks.Guard) -> int | None:
    """Jobs of the frozen kind still running, by the backend's own count; None when it has none."""
    if cfg["backend"] == "bullmq":
        return bullmq.running(cfg)
    if cfg.get("running"):
        with psycopg.connect(guard.conninfo(), autocommit=True) as conn:
            try:
                return sql.running(conn, cfg)
            except psycopg.errors.LockNotAvailable:
                return -1  # its table is locked: not known to be drained
    return None


def wait_drained(cfg: dict[str, Any], guard: locks.Guard, poll: float = 0.2) -> int:
    """Block until no job of the frozen kind runs (within drain_seconds); seconds waited, rounded."""
    started = time.monotonic()
    deadline = started + float(cfg.get("drain_seconds", 60.0))
    while True:
        left = _count_running(cfg, guard)
        if not left:
            return round(time.monotonic() - started)
        if time.monotonic() >= deadline:
            count = f"{left} job(s)" if left > 0 else "an unknown number of jobs (the running query's table is locked)"
            raise RuntimeError(f"jobs freeze: {count} still running after {cfg.get('drain_seconds', 60.0):g}s "
                               f"({cfg['backend']} backend); nothing else was changed and the queue stays paused: "
                               "wait for them and apply again, or raise rollback:jobs.drainSeconds")
        time.sleep(poll)


def read_control(dsn: str) -> dict[str, Any]:
    """Current flags and rollout row of the postgres backend ({} when never frozen)."""
    with psycopg.connect(dsn) as conn:
        if scalar(conn.execute("SELECT to_regclass('rollback_control.rollout')")) is None:
            return {}
        row = conn.execute("SELECT rollout, frozen FROM rollback_control.rollout").fetchone()
        rows = conn.execute("SELECT name, value FROM rollback_control.flags ORDER BY name").fetchall()
        flags: dict[str, Any] = dict(rows)
    return {"rollout": row[0] if row else None, "frozen": bool(row[1]) if row else False, "flags": flags}


class JobFreezeProvider(StepProvider):
    """Freezes jobs when the rollout id changes (nothing to do when the target is unchanged)."""

    step = "jobs freeze"
    keys = ("rollout_id", "queue")

    def apply(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """Mark the rollout frozen, pause the queue (one transaction for sql), then wait until it is drained."""
        cfg, paused, guard = news["queue"], 0, locks.Guard(news.get("locks"), self.step)
        budget = Budget.of(news.get("retry_budget"))
        if cfg["backend"] in TABLE_FLAGS:
            with guard, guard.connect(autocommit=True) as conn:
                def attempt() -> int:
                    with conn.transaction():
                        conn.execute(CONTROL_DDL)
                        conn.execute(FREEZE, (news["rollout_id"],))
                        return sql.pause(conn, cfg) if cfg["backend"] == "sql" else 0

                paused = guard.run("freezing jobs", attempt)
            if cfg["backend"] == "bullmq":
                paused = bullmq.pause(cfg)
        elif cfg["backend"] == "http":
            http.post(cfg, "/pause-all", {"rollout": news["rollout_id"]}, budget)
        else:
            raise ValueError(f"unsupported jobs backend {cfg['backend']!r} for the dynamic freeze step")
        waited = wait_drained(cfg, guard)
        # A new token per freeze act: the health gate and release key on it, so a rollout that failed midway
        # and is then retargeted to the previously released state still re-gates and releases.
        token = f"{news['rollout_id']}@{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}#{time.time_ns() % 10**6}"
        return {**news, "frozen": True, "paused_jobs": paused, "drained_after_seconds": waited, "freeze_token": token,
                "lock_waits": guard.outputs(), "retries": budget.report()}

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: the live frozen state (postgres backend)."""
        if (props.get("queue") or {}).get("backend") not in TABLE_FLAGS:
            return ReadResult(id_, props)
        live = read_control(runtime_env.database_url())
        return ReadResult(id_, {**props, "frozen": bool(live.get("frozen"))})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Destroying the stack leaves jobs as they are (never resumes behind the operator's back)."""


class JobReleaseProvider(StepProvider):
    """Sets the target's flags and resumes jobs; runs last, only after every other step passed."""

    step = "jobs release"
    keys = ("rollout_id", "queue", "flags", "jobs_frozen_by")

    def apply(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """Flags to target values (removing flags the target lacks), resume jobs, clear the freeze."""
        flags: dict[str, Any] = dict(news.get("flags") or {})
        cfg, resumed, guard = news["queue"], 0, locks.Guard(news.get("locks"), self.step)
        budget = Budget.of(news.get("retry_budget"))
        if cfg["backend"] in TABLE_FLAGS:
            with guard, guard.connect(autocommit=True) as conn:
                def attempt() -> int:
                    with conn.transaction():
                        conn.execute(CONTROL_DDL)
                        for name, value in sorted(flags.items()):
                            conn.execute(UPSERT_FLAG, (name, Jsonb(value)))
                        conn.execute("DELETE FROM rollback_control.flags WHERE NOT (name = ANY(%s))", (sorted(flags),))
                        count = sql.resume(conn, cfg) if cfg["backend"] == "sql" else 0
                        conn.execute(RELEASE, (news["rollout_id"],))
                        return count

                resumed = guard.run("releasing jobs", attempt)
            if cfg["backend"] == "bullmq":  # after the flags commit: workers resume under the target's flags
                resumed = bullmq.resume(cfg)
        elif cfg["backend"] == "http":
            http.post(cfg, "/flags", {"flags": flags}, budget)
            http.post(cfg, "/resume-all", {"rollout": news["rollout_id"]}, budget)
        else:
            raise ValueError(f"unsupported jobs backend {cfg['backend']!r} for the dynamic release step")
        return {**news, "frozen": False, "resumed_jobs": resumed, "lock_waits": guard.outputs(),
                "retries": budget.report()}

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: live flags and frozen state (postgres backend)."""
        if (props.get("queue") or {}).get("backend") not in TABLE_FLAGS:
            return ReadResult(id_, props)
        live = read_control(runtime_env.database_url())
        flags = {k: json.loads(json.dumps(v)) for k, v in (live.get("flags") or {}).items()}
        return ReadResult(id_, {**props, "flags": flags, "frozen": bool(live.get("frozen"))})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Destroying the stack keeps the flags."""


class JobFreeze(Resource, module="rollback", name="JobFreeze"):
    """The freeze step of a rollout."""

    # Outputs, for the type checker only: Pulumi reads runtime class annotations and would convert values by them.
    if TYPE_CHECKING:
        freeze_token: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        outs = {"frozen": None, "paused_jobs": None, "drained_after_seconds": None, "freeze_token": None,
                "lock_waits": None, "retries": None}
        super().__init__(JobFreezeProvider(), name, {**outs, **props}, opts)


class JobRelease(Resource, module="rollback", name="JobRelease"):
    """The release step of a rollout."""

    # Outputs, for the type checker only: Pulumi reads runtime class annotations and would convert values by them.
    if TYPE_CHECKING:
        frozen: pulumi.Output[bool]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        outs = {"frozen": None, "resumed_jobs": None, "lock_waits": None, "retries": None}
        super().__init__(JobReleaseProvider(), name, {**outs, **props}, opts)
