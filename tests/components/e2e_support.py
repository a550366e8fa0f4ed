"""Helpers for the release e2e tests: a per-test database, stand-in deployments, engine runs and DB snapshots."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from pulumi import automation as auto

from components.program import pulumi_program
from rollback.stacks import stack_settings
from rollback.workspace import open_stack
from tests.databases import create_database, drop_database

ALL = ["jobs", "snapshot", "schema", "dbobjects", "alias", "health"]
ALIAS = "app.example.test"
HEALTHY = {"metrics": {"error_rate": 0.01, "latency_p95_ms": 420, "availability": 0.999}}
DYN = "pulumi-python:dynamic/rollback:"
STEP_ORDER = ["JobFreeze", "PgDumpSnapshot", "SchemaMigration", "DbFunctions", "TriggerStates", "AliasAssignment",
              "HealthGate", "JobRelease"]


@dataclass
class Rig:
    """One e2e test's world: its own database, the sandbox env pointing at it, a fresh state backend."""

    sandbox: Any
    backend_url: str
    dsn: str
    env: dict[str, str]
    started: float = field(default_factory=time.time)

    def stack(self, target: str, components: list[str] | None = None, **settings: Any) -> auto.Stack:
        """The `local` stack running our program with rollback:target and other rollback:* settings."""
        config = {"rollback:target": target, "rollback:components": json.dumps(components or ALL),
                  "rollback:healthBudgetSeconds": "5", "rollback:jobs": json.dumps(stack_settings("local")["jobs"])}
        config.update({f"rollback:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in settings.items()})
        return open_stack("local", pulumi_program, backend_url=self.backend_url, env=self.env, config=config)

    def standin(self) -> httpx.Client:
        """Authenticated client of the Vercel stand-in."""
        return httpx.Client(base_url=self.env["VERCEL_API_URL"], timeout=10,
                            headers={"Authorization": f"Bearer {self.env['VERCEL_TOKEN']}"})

    def deploy(self, dep_id: str, meta: dict[str, Any] | None = None) -> None:
        """Create (or reset) a stand-in deployment with explicit id and meta."""
        with self.standin() as c:
            assert c.post("/v13/deployments", json={"id": dep_id, "name": "shop-web",
                                                    "meta": meta or HEALTHY}).status_code == 200

    def transitions(self) -> list[tuple[str | None, str | None]]:
        """This test's alias changes of app.example.test, in order."""
        with self.standin() as c:
            log = c.get("/_standin/transitions").json()["transitions"]
        return [(t["from"], t["to"]) for t in log if t["alias"] == ALIAS and t["at"] >= self.started]

    def alias_target(self) -> str | None:
        """Where app.example.test points now."""
        with self.standin() as c:
            resp = c.get(f"/v4/aliases/{ALIAS}")
        return resp.json()["deploymentId"] if resp.status_code == 200 else None

    def sql(self, query: str, *args: Any) -> list[tuple]:
        """Rows of a query against this test's database."""
        with psycopg.connect(self.dsn) as conn:
            cur = conn.execute(query, args or None)
            return cur.fetchall() if cur.description else []

    def schema_dump(self) -> str:
        """pg_dump --schema-only of this test's database, without version/restrict noise."""
        env = {**self.env, "PGPASSWORD": self.sandbox.secrets["pg_password"]}
        out = subprocess.run([f"{self.env['PG_BINDIR']}/pg_dump", "--schema-only", "--no-owner", "-d", self.dsn],
                             env=env, capture_output=True, text=True, check=True).stdout
        return "\n".join(line for line in out.splitlines()
                         if not line.startswith(("--", "\\restrict", "\\unrestrict")))

    def functions(self) -> dict[str, list[str]]:
        """pg_get_functiondef of the app's managed functions."""
        return {name: [r[0] for r in self.sql("SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n "
                                              "ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
                                              "AND p.proname = %s", name)]
                for name in ("notif_send", "worker_fail_job")}

    def flags(self) -> dict[str, Any]:
        """The postgres jobs backend's flags."""
        return dict(self.sql("SELECT name, value FROM rollback_control.flags"))

    def frozen(self) -> bool:
        """Whether the postgres jobs backend says a rollout holds jobs frozen."""
        return bool(self.sql("SELECT frozen FROM rollback_control.rollout")[0][0])

    def job_statuses(self) -> list[str]:
        """worker_jobs statuses, oldest first."""
        return [r[0] for r in self.sql("SELECT status FROM worker_jobs ORDER BY created_at, id")]


def rig(sandbox: Any, backend_url: str) -> Iterator[Rig]:
    """Generator behind the e2e `rig` fixtures: a database made and dropped around the test."""
    dsn = create_database(sandbox, "e2e")
    env = sandbox.env()
    with httpx.Client(base_url=env["VERCEL_API_URL"], headers={"Authorization": f"Bearer {env['VERCEL_TOKEN']}"},
                      timeout=10) as client:
        client.delete(f"/v2/aliases/{ALIAS}")  # the stand-in is shared by the session: start without the alias
    try:
        yield Rig(sandbox, backend_url, dsn, {**env, "DATABASE_URL": dsn})
    finally:
        drop_database(sandbox, dsn)


def step_ops(events: list[auto.EngineEvent], *, applied: bool = False) -> list[tuple[str, str]]:
    """(op, step type) of our step resources from pre-events (planned) or outputs events (applied), in order."""
    out = []
    for e in events:
        ev = e.res_outputs_event if applied else e.resource_pre_event
        if ev is None or not ev.metadata.type.startswith(DYN):
            continue
        op = getattr(ev.metadata.op, "value", str(ev.metadata.op))
        if op != "same":
            out.append((op, ev.metadata.type[len(DYN):]))
    return out


def pre_event(events: list[auto.EngineEvent], step_type: str) -> Any:
    """The pre-event metadata of the first step of step_type."""
    return next(e.resource_pre_event.metadata for e in events
                if e.resource_pre_event and e.resource_pre_event.metadata.type == DYN + step_type)


def in_dependency_order(types: list[str]) -> bool:
    """Whether step types appear in the Release's dependency order."""
    idx = [STEP_ORDER.index(t) for t in types]
    return idx == sorted(idx)
