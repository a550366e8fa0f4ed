"""Many machines, one stack on an s3:// backend: two simulated machines (own host name through a UTS namespace, own
HOME and cache, one bucket) roll the same stack back and forth, race, and take over from each other after a kill."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rollback.lock import current_holder, engine_locks
from sandbox import STATE_BUCKET
from tests.faults.conftest import CLI, World, world

pytestmark = [pytest.mark.faults, pytest.mark.e2e]
TARGETS = {"v1.4.2": "dpl_v142", "v1.5.0": "dpl_v150"}
LEASE = 8  # seconds: short, so the takeover is seen within the test


@dataclass
class Machine(World):
    """A World driven from another machine: host name, HOME and rollback cache of its own; state in one bucket."""

    name: str = "machine-a"
    url: str = ""
    engine: Path = Path()

    @property
    def env(self) -> dict[str, str]:
        own = self.base / self.name
        return {**super().env, "PULUMI_BACKEND_URL": self.url, "HOME": str(own / "home"),
                "ROLLBACK_CACHE": str(own / "cache"), "ROLLBACK_REPORT_DIR": str(own / "reports"),
                "PATH": f"{self.engine}:{super().env['PATH']}", "ROLLBACK_LEASE_SECONDS": str(LEASE)}

    def command(self, *args: str) -> list[str]:
        return ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', self.name, *CLI, *args]

    def checkpoint(self) -> dict[str, Any]:
        """The stack's latest checkpoint in the bucket."""
        from rollback.export import open_store

        store = open_store(self.url)
        keys = [k for k in store.list(".pulumi/stacks/rollback-as-code") if k.endswith("/local.json")]
        return json.loads(store.read(keys[0]))["checkpoint"]["latest"] if keys else {}


@pytest.fixture(scope="module")
def machines(sandbox, engine_dir, tmp_path_factory) -> Iterator[tuple[Machine, Machine]]:
    """Machines a and b on one database and one s3:// stack: a deploys v1.4.2, then b deploys v1.5.0 over it."""
    mp = pytest.MonkeyPatch()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):  # the test reads the bucket too
        mp.setenv(name, sandbox.env()[name])
    for base in world(sandbox, tmp_path_factory.mktemp("shared-backend"), "shared"):
        url = (f"s3://{STATE_BUCKET}/{uuid.uuid4().hex[:8]}?region=us-east-1&endpoint={sandbox.aws_endpoint}"
               "&s3ForcePathStyle=true")
        a, b = (Machine(sandbox, base.dsn, base.base, name=f"machine-{n}", url=url, engine=engine_dir) for n in "ab")
        assert a.run("apply", "local", "--to", "v1.4.2", "--yes").code == 0
        a.sql("INSERT INTO worker_jobs (kind) VALUES ('email')")
        released = {"v1.4.2": _consistent(a)}
        assert b.run("apply", "local", "--to", "v1.5.0", "--yes").code == 0
        released["v1.5.0"] = _consistent(b)
        a.released = b.released = released  # type: ignore[attr-defined]
        yield a, b
    mp.undo()


def _consistent(m: World) -> dict[str, Any]:
    db = m.db()
    return {"schema": db["schema"], "flags": db["flags"], "functions": db["functions"], "alias": m.alias()}


def _other(m: Machine) -> str:
    now = _consistent(m)
    source = next(label for label, state in m.released.items() if state == now)  # type: ignore[attr-defined]
    return "v1.4.2" if source == "v1.5.0" else "v1.5.0"


def test_rollback_and_forward_from_either_machine(machines):
    """v1.5.0 → v1.4.2 from b, the plan is then empty on a, and a releases v1.5.0 again: one state in the bucket."""
    a, b = machines
    assert _other(a) == "v1.4.2"
    back = b.run("apply", "local", "--to", "v1.4.2", "--yes", "--allow-data-loss", "--reason", "bad release")
    assert back.code == 0, back.err
    assert _consistent(a) == a.released["v1.4.2"] and not a.db()["frozen"]
    plan = a.run("plan", "local", "--to", "v1.4.2")
    assert plan.code == 0 and "no changes" in plan.out.lower(), plan.out
    forward = a.run("apply", "local", "--to", "v1.5.0", "--yes", "--reason", "fixed")
    assert forward.code == 0, forward.err
    assert _consistent(b) == b.released["v1.5.0"] and b.db()["jobs"] == ["pending"]
    assert current_holder(a.url, "local") is None and not engine_locks(a.url, "local")


def test_two_machines_at_once_exactly_one_proceeds(machines):
    a, b = machines
    target = _other(a)
    a.standin_meta(TARGETS[target], {"health": "fail"})  # keeps the winner inside its rollout (healed below)
    try:
        args = ("apply", "local", "--to", target, "--yes", "--allow-data-loss")
        procs = [(m, m.start(*args, "--reason", f"from {m.name}")) for m in (a, b)]
        time.sleep(10)  # both have tried the lock; the winner is retrying its gate
        a.standin_meta(TARGETS[target], {"health": "ok"})
        runs = [(m, m.finish(p, args)) for m, p in procs]
    finally:
        a.standin_meta(TARGETS[target], {"health": "ok"})
    winners = [m.name for m, r in runs if r.code == 0 and "applied" in r.out]
    refused = [(m.name, r) for m, r in runs if r.code == 1]
    assert len(winners) == 1 and len(refused) == 1, [(m.name, r.code, r.err[-300:]) for m, r in runs]
    loser, run = refused[0]
    msg = " ".join(run.err.split())
    assert f"@{winners[0]} " in msg and "has a rollout in progress" in msg and f"from {winners[0]}" in msg, msg
    assert "lease is live" in msg and "Traceback" not in msg
    assert _consistent(a) == a.released[target] and not a.db()["frozen"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("marker", "delay", "health"),
                         [("… SchemaVersion", 0.05, "ok"), ("… HealthGate", 1.5, "fail")],
                         ids=["mid-schema", "inside-health-gate"])
def test_sigkill_of_machine_a_then_b_waits_for_the_lease_and_takes_over(machines, marker, delay, health):
    a, b = machines
    target = _other(a)
    started = time.time()
    a.standin_meta(TARGETS[target], {"health": health})  # a failing gate keeps a inside the step until the kill
    try:
        killed = a.kill_at(marker, "apply", "local", "--to", target, "--yes", "--allow-data-loss", "--reason", "a",
                           delay=delay)  # kill_at asserts that no process of a's rollout outlives it
    finally:
        a.standin_meta(TARGETS[target], {"health": "ok"})
    assert killed.code == -9, killed.out[-500:]
    held = current_holder(a.url, "local")
    assert held and held["host"] == "machine-a", held
    assert [lock.content.get("hostname") for lock in engine_locks(a.url, "local")] == ["machine-a"]

    refused = b.run("apply", "local", "--to", target, "--yes", "--allow-data-loss", "--reason", "b")
    msg = " ".join(refused.err.split())
    assert refused.code == 1 and "@machine-a " in msg and "lease is live" in msg, msg
    assert engine_locks(a.url, "local"), "a refused contender touched the dead holder's engine lock"

    time.sleep(max(0.0, float(held["lease"]) + 1.0 - (time.time() - started)))
    while True:  # the lease counts from a's last renewal: retry until it has run out
        took = b.run("apply", "local", "--to", target, "--yes", "--allow-data-loss", "--reason", "b")
        if took.code == 0 or "lease is live" not in took.err or time.time() - started > 4 * LEASE:
            break
        time.sleep(1)
    assert took.code == 0, took.err
    notes = " ".join(took.err.split())
    assert "took over the rollout lock of 'local' from root@machine-a" in notes and "lease expired" in notes, notes
    assert "removed the engine lock of an interrupted update" in notes and "machine-a" in notes
    assert _consistent(b) == b.released[target] and not b.db()["frozen"]  # type: ignore[attr-defined]
    assert b.db()["jobs"] == ["pending"] and not (b.checkpoint().get("pending_operations") or [])
    assert b.snapshots_since(started), "no safety snapshot was taken before the schema moved"
    assert current_holder(b.url, "local") is None and not engine_locks(b.url, "local")
