"""Kept values through the CLI and the engine on the example stack: v1.5.0 with rows in its new columns and table →
`rollback apply --to v1.4.2 --allow-data-loss` keeps them (report, status) → rows written under v1.4.2 → releasing
v1.5.0 again puts every kept value back by key (the plan says so first); rows written in between keep theirs, a row
deleted in between is reported gone, not resurrected; the reports list both. No kept value in any output, plan,
report or state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.conftest import World, world

pytestmark = pytest.mark.e2e
MARK = "kept-value-7f3a9c"  # in a digest's items: must never be printed
USERS = ("6d2f0a4e-0000-4000-8000-00000000a001", "6d2f0a4e-0000-4000-8000-00000000a002")


@pytest.fixture
def w(sandbox, engine_dir, tmp_path) -> Iterator[World]:
    yield from world(sandbox, tmp_path, "kept")


def jobs(w: World) -> dict[str, tuple[Any, ...]]:
    return {str(r[0]): tuple(r[1:]) for r in w.sql(
        "SELECT kind, max_attempts, last_error_at::text FROM worker_jobs ORDER BY kind")}


def report(w: World, run: Any) -> dict[str, Any]:
    path = next(line.split("report:", 1)[1].strip() for line in run.out.splitlines() if line.startswith("report:"))
    return json.loads((Path(path) / "report.json").read_text())


def schema_step(doc: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in doc["steps"] if s.get("component") == "SchemaVersion")


def test_round_trip_keeps_values_through_a_rollback_and_puts_them_back_on_release(w: World) -> None:
    assert w.run("apply", "local", "--to", "v1.4.2", "--yes").code == 0
    for kind in ("a-kept", "b-kept", "c-deleted-later"):
        w.sql("INSERT INTO worker_jobs (kind) VALUES (%s)", kind)
    assert w.run("apply", "local", "--to", "v1.5.0", "--yes").code == 0
    w.sql("UPDATE worker_jobs SET max_attempts = 9, last_error_at = '2026-03-04 05:06:07+00' WHERE kind = 'a-kept'")
    w.sql("UPDATE worker_jobs SET max_attempts = 2 WHERE kind = 'b-kept'")
    for user in USERS:
        w.sql("INSERT INTO notification_digests (user_id, day, pending_count, items) VALUES (%s, '2026-03-04', 2, %s)",
              user, json.dumps([{"note": MARK}]))
    before_jobs = jobs(w)
    before_digests = w.sql("SELECT id, user_id, day, pending_count, items, created_at FROM notification_digests "
                           "ORDER BY id")

    plan = w.run("plan", "local", "--to", "v1.4.2", "--format", "json")
    planned = json.loads(plan.out)
    notes = " ".join(planned.get("notes") or [])
    assert "keeps aside in rollback_control" in notes and "table notification_digests (2 rows)" in notes, notes
    assert planned["protection"]["snapshot"] == "full"  # the example stack records pgdump, rollback:snapshot unset
    assert notes.startswith("snapshot: protected by a whole-database pg_dump (rollback:snapshot full)"), notes

    back = w.run("apply", "local", "--to", "v1.4.2", "--yes", "--allow-data-loss")
    assert back.code == 0, back.err
    kept = schema_step(report(w, back))["kept"]
    assert sorted((k["relation"], tuple(k.get("columns") or ()), k["rows"]) for k in kept) == [
        ("notification_digests", (), 2), ("worker_jobs", ("last_error_at", "max_attempts"), 3)]
    assert all(k.get("from_version") == "v1.5.0" and k["schema_version"] == int(k["file"][:4]) for k in kept), kept
    assert w.status()["kept"] == {"waiting": 2, "waiting_rows": 5, "restored": 0, "not_restored": 0,
                                  "by_version": {"v1.5.0": 2}}

    # under v1.4.2: a new job, a job deleted, a job changed in a column v1.4.2 has
    w.sql("INSERT INTO worker_jobs (kind) VALUES ('d-written-under-v142')")
    w.sql("DELETE FROM worker_jobs WHERE kind = 'c-deleted-later'")
    w.sql("UPDATE worker_jobs SET attempts = 4 WHERE kind = 'b-kept'")

    plan = w.run("plan", "local", "--to", "v1.5.0")
    text = " ".join(plan.out.split())
    assert "restores columns last_error_at, max_attempts of worker_jobs: 3 kept row(s)" in text, text
    assert "restores rows of notification_digests: 2 kept row(s)" in text

    forward = w.run("apply", "local", "--to", "v1.5.0", "--yes")
    assert forward.code == 0, forward.err
    now = jobs(w)
    assert now["a-kept"] == before_jobs["a-kept"] and now["b-kept"] == before_jobs["b-kept"]
    assert now["d-written-under-v142"] == (5, None)  # written in between: the re-created columns' defaults
    assert "c-deleted-later" not in now  # gone since: reported, not resurrected
    assert w.sql("SELECT attempts FROM worker_jobs WHERE kind = 'b-kept'") == [(4,)]
    assert w.sql("SELECT id, user_id, day, pending_count, items, created_at FROM notification_digests "
                 "ORDER BY id") == before_digests
    restored = {(r["relation"], tuple(r.get("columns") or ())): r for r in schema_step(report(w, forward))["restored"]}
    r = restored[("worker_jobs", ("last_error_at", "max_attempts"))]
    assert (r["state"], r["restored"], r["gone"], r["written_since"]) == ("restored", 2, 1, 1), r
    assert restored[("notification_digests", ())]["restored"] == 2
    md = (Path(next(line.split("report:", 1)[1].strip() for line in forward.out.splitlines()
                    if line.startswith("report:"))) / "report.md").read_text()
    assert "## Kept values" in md and "1 written since kept theirs, 1 gone" in md
    assert w.status()["kept"]["restored"] == 2 and w.status()["kept"]["waiting"] == 0

    again = w.run("apply", "local", "--to", "v1.5.0", "--yes")  # nothing kept twice, nothing restored twice
    assert again.code == 0 and w.sql("SELECT count(*) FROM notification_digests") == [(2,)]

    printed = "\n".join(w.outputs) + "".join(p.read_text() for p in (w.base / "reports").rglob("*") if p.is_file())
    state = "".join(p.read_text() for p in w.state.rglob("*.json"))
    for value in (MARK, *USERS):
        assert value not in printed and value not in state, value
