"""Scenario 6 (hostile input refused before any change) and scenario 8 (health gate flapping), through the real
engine in process; the program reads a scratch copy of rollback_stacks so the record can be tampered with."""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.automation import CommandError

import rollback_stacks.store
from components.providers.base import StepFailed
from components.providers.schema import SchemaVersionProvider
from components.rollout import sha256_text
from tests.components.e2e_support import Rig
from tests.components.e2e_support import rig as make_rig

pytestmark = [pytest.mark.faults, pytest.mark.e2e]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def rig(sandbox, engine_dir, backend_url, tmp_path, monkeypatch) -> Iterator[Rig]:
    """An e2e rig whose program loads rollback_stacks from tmp (a copy of the local stack)."""
    root = tmp_path / "stacks" / "rollback_stacks"
    shutil.copytree(REPO / "rollback_stacks" / "local", root / "local")
    shutil.copy2(REPO / "Pulumi.local.yaml", root.parent / "Pulumi.local.yaml")
    monkeypatch.setattr(rollback_stacks.store, "STACKS_ROOT", root)
    for r in make_rig(sandbox, backend_url):
        r.root = root  # type: ignore[attr-defined]
        yield r


def world_of(rig: Rig, st: Any) -> tuple[Any, ...]:
    """Database schema and data that matter, alias, and the stack's resources in the state."""
    return (rig.sql("SELECT version, dirty FROM schema_migrations"), rig.flags(), rig.frozen(), rig.job_statuses(),
            rig.functions(), rig.alias_target(), [r["urn"] + str(r.get("outputs")) for r in
                                                  st.export_stack().deployment["resources"]])


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


HOSTILE = {
    "sql-path-traversal": ("versions/0003.yaml", "      file: functions/notif_send.capped.sql",
                           "      file: ../../../../etc/passwd"),
    "yaml-object-construction": ("versions/0003.yaml", "app:",
                                 "x: !!python/object/apply:os.system ['touch {marker}']\napp:"),
    "sql-changed-after-recording": ("migrations/0005_notification_digests.up.sql", "CREATE TABLE",
                                    "DROP TABLE IF EXISTS worker_jobs CASCADE;\nCREATE TABLE"),
    "migrations-dir-traversal": ("versions/0003.yaml", "  migrations_dir: migrations", "  migrations_dir: ../../.."),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_record_refused_before_any_change(rig, case, tmp_path):
    rig.deploy("dpl_v142")
    rig.deploy("dpl_v150")
    rig.stack("v1.4.2").up()
    rig.sql("INSERT INTO worker_jobs (kind) VALUES ('email')")
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    rel, old, new = HOSTILE[case]
    _edit(rig.root / "local" / rel, old, new.format(marker=marker))  # type: ignore[attr-defined]
    st = rig.stack("v1.5.0", allowCandidate=True)
    before = world_of(rig, st)
    out: list[str] = []
    with pytest.raises(CommandError):
        st.up(on_output=out.append)
    msg = " ".join("".join(out).split())
    assert "0003.yaml" in msg or "0005_notification_digests.up.sql" in msg or "rollback.sum" in msg, msg[-800:]
    assert world_of(rig, st) == before
    assert not marker.exists()


def test_alias_domain_outside_allow_list_refused(rig):
    rig.deploy("dpl_v142")
    rig.deploy("dpl_v150")
    rig.stack("v1.4.2", allowedDomains=["app.example.test"]).up()
    st = rig.stack("v1.5.0", allowCandidate=True, allowedDomains=["other.example.test"])
    before = world_of(rig, st)
    out: list[str] = []
    with pytest.raises(CommandError):
        st.up(on_output=out.append)
    assert "app.example.test are not in rollback:allowedDomains" in " ".join("".join(out).split())
    assert world_of(rig, st) == before


def test_sql_changed_between_load_and_run_refused_by_the_runner(db, migrations):
    """The last line of defence (the record was fine when loaded, the text changed before the step ran)."""
    sums = {name: sha256_text(sql) for name, sql in migrations.items()}
    tampered = {**migrations, "0002_tags.up.sql": "DROP TABLE items;"}
    with pytest.raises(StepFailed, match="differs from its recorded sha256"):
        SchemaVersionProvider().create({"target_version": 2, "sql": tampered, "checksums": sums})
    import psycopg

    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT version FROM schema_migrations").fetchall() == []
        assert conn.execute("SELECT to_regclass('items')").fetchone() == (None,)


def _v130_deployed_with_v142_unhealthy(rig: Rig) -> None:
    """v1.3.0 up with one pending job; v1.4.2's deployment answers its health check with a failure."""
    rig.deploy("dpl_v130")
    rig.deploy("dpl_v142", {"health": "fail", "metrics": {"error_rate": 0.01, "latency_p95_ms": 420,
                                                           "availability": 0.999}})
    rig.stack("v1.3.0", healthBudgetSeconds=5).up()
    rig.sql("INSERT INTO worker_jobs (kind) VALUES ('email')")


def test_health_gate_flapping_then_passing_within_budget_passes(rig):
    _v130_deployed_with_v142_unhealthy(rig)
    stop = threading.Event()

    def heal_once_the_gate_fails() -> None:  # the alias moves just before the gate: then let it fail ~2 attempts
        while not stop.is_set() and rig.alias_target() != "dpl_v142":
            stop.wait(0.05)
        stop.wait(1.2)
        rig.deploy("dpl_v142")

    heal = threading.Thread(target=heal_once_the_gate_fails, daemon=True)
    heal.start()
    try:
        result = rig.stack("v1.4.2", healthBudgetSeconds=15).up()
    finally:
        stop.set()
        heal.join()
    assert result.summary.result == "succeeded"
    gate = next(r for r in rig.stack("v1.4.2").export_stack().deployment["resources"]
                if r["type"].endswith(":HealthGate"))
    assert gate["outputs"]["attempts"] >= 2  # it did fail first
    assert not rig.frozen() and rig.job_statuses() == ["pending"]


def test_health_gate_that_stays_failing_fails_and_keeps_jobs_frozen(rig):
    _v130_deployed_with_v142_unhealthy(rig)
    flags = rig.flags()
    out: list[str] = []
    with pytest.raises(CommandError):
        rig.stack("v1.4.2", healthBudgetSeconds=3).up(on_output=out.append)
    msg = " ".join("".join(out).split())
    assert "health gate failed" in msg and "http check 'app'" in msg and "Jobs stay frozen" in msg
    assert rig.frozen() and rig.job_statuses() == ["paused"] and rig.flags() == flags
