"""Users during a rollout: the app alias is requested continuously while `rollback apply` runs, and no request is
served by a deployment whose requires_schema excludes the schema live at that moment (both directions)."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

import rollback_stacks
from tests.databases import create_database, drop_database
from tests.operator.test_rollout_e2e import Operator

pytestmark = pytest.mark.e2e
ALIAS = "app.example.test"


class Probe:
    """A user hitting the app alias every few milliseconds until stopped."""

    def __init__(self, base: str) -> None:
        self.base, self.stop, self.sent = base, threading.Event(), 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=5) as client:
            while not self.stop.is_set():
                client.get(f"/_standin/app/{ALIAS}/health")
                self.sent += 1
                time.sleep(0.003)

    def __enter__(self) -> Probe:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop.set()
        self.thread.join(10)


def ranges() -> dict[str, tuple[int, int]]:
    """Each recorded deployment's accepted schema range, from the stack's version documents (the data)."""
    return {v.app.deployment_id: (v.app.requires_schema.min, v.app.requires_schema.max)
            for v in rollback_stacks.load("local").versions if v.app and v.app.requires_schema}


@pytest.fixture
def o(sandbox, tmp_path) -> Any:
    from sandbox import seed_deployments

    seed_deployments(sandbox)
    (tmp_path / "state").mkdir()
    dsn = create_database(sandbox, "probe")
    env = sandbox.env()
    auth = {"Authorization": f"Bearer {env['VERCEL_TOKEN']}"}
    assert httpx.patch(f"{env['VERCEL_API_URL']}/_standin/app/{ALIAS}", json={"database_url": dsn},
                       headers=auth).status_code == 200
    yield Operator(sandbox, dsn, tmp_path / "state", tmp_path / "reports")
    httpx.patch(f"{env['VERCEL_API_URL']}/_standin/app/{ALIAS}", json={"database_url": None}, headers=auth)
    drop_database(sandbox, dsn)


def served_during(o: Any, target: str) -> tuple[list[dict[str, Any]], int]:
    """Apply target under a continuous probe; the stand-in's log of the requests made meanwhile."""
    base = o.sandbox.env()["VERCEL_API_URL"]
    since = time.time()
    with Probe(base) as probe:
        time.sleep(0.2)
        proc = o.run("apply", "local", "--to", target, "--yes")
        time.sleep(0.2)
    assert proc.returncode == 0, proc.stderr
    log = httpx.get(f"{base}/_standin/requests", params={"alias": ALIAS, "since": since}).json()["requests"]
    return log, probe.sent


def incompatible(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    accepts = ranges()
    return [r for r in log if r["deployment"] in accepts and r["schema"] is not None
            and not accepts[r["deployment"]][0] <= r["schema"] <= accepts[r["deployment"]][1]]


@pytest.mark.parametrize("direction", ["rollback", "release"])
def test_no_user_request_meets_a_schema_its_app_cannot_use(o, direction):
    assert o.run("apply", "local", "--to", "v1.4.2", "--yes").returncode == 0
    if direction == "rollback":
        assert o.run("apply", "local", "--to", "v1.5.0", "--yes").returncode == 0
    target, before, after = ("v1.4.2", "dpl_v150", "dpl_v142") if direction == "rollback" else \
        ("v1.5.0", "dpl_v142", "dpl_v150")
    log, sent = served_during(o, target)
    assert len(log) >= 50 and len(log) >= sent * 0.9, (len(log), sent)  # the spans below are what counts
    assert {before, after} <= {r["deployment"] for r in log}  # the probe spanned the alias move
    seen = {r["schema"] for r in log}  # ... and the schema move (4 shows between 0004's and 0005's commits)
    assert {3, 5} <= seen <= {3, 4, 5}, seen
    assert incompatible(log) == []
    assert [r for r in log if r["status"] >= 500] == []
