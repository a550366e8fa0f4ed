"""Alias moves against the Vercel stand-in: one assign call, in place; the transition log has no gap."""

from __future__ import annotations

import uuid

import pytest

from components.providers.alias import AliasAssignmentProvider, MaintenanceAssignmentProvider
from components.providers.base import StepFailed


def deploy(standin, dep_id: str, **meta) -> None:
    assert standin.post("/v13/deployments", json={"id": dep_id, "name": "shop", "meta": meta}).status_code == 200


def transitions(standin, alias: str) -> list[tuple]:
    log = standin.get("/_standin/transitions").json()["transitions"]
    return [(t["from"], t["to"]) for t in log if t["alias"] == alias]


def test_create_move_read_delete(db, standin):
    tag = uuid.uuid4().hex[:8]
    alias, a, b = f"{tag}.example.test", f"dpl_a{tag}", f"dpl_b{tag}"
    deploy(standin, a)
    deploy(standin, b)
    p = AliasAssignmentProvider()
    created = p.create({"alias": alias, "deployment_id": a, "jobs_frozen_by": None})
    assert created.id == alias and created.outs["previous_deployment_id"] is None
    news = {"alias": alias, "deployment_id": b, "jobs_frozen_by": None}
    d = p.diff(alias, created.outs, news)
    assert d.changes is True and d.replaces == []  # a new deployment is an update, never a replace
    assert p.diff(alias, created.outs, {**news, "alias": "other.test"}).replaces == ["alias"]
    moved = p.update(alias, created.outs, news)
    assert moved.outs["previous_deployment_id"] == a
    assert moved.outs["alias_uid"] == created.outs["alias_uid"]  # same alias record, moved in place
    assert p.read(alias, moved.outs).outs["deployment_id"] == b
    assert transitions(standin, alias) == [(None, a), (a, b)]
    p.delete(alias, moved.outs)
    assert p.read(alias, moved.outs).outs["deployment_id"] is None
    assert transitions(standin, alias)[-1] == (b, None)


def test_unknown_deployment_fails_with_frozen_note(db, standin):
    with pytest.raises(StepFailed, match=r"alias move failed: assigning x.test to dpl_missing: HTTP 404.*ro-7"):
        AliasAssignmentProvider().create({"alias": "x.test", "deployment_id": "dpl_missing", "jobs_frozen_by": "ro-7"})


def test_maintenance_window_opens_per_freeze_closes_without_a_call_and_never_deletes_the_alias(db, standin):
    tag = uuid.uuid4().hex[:8]
    alias, app, maint = f"{tag}.example.test", f"dpl_app{tag}", f"dpl_m{tag}"
    deploy(standin, app)
    deploy(standin, maint, maintenance=True)
    AliasAssignmentProvider().create({"alias": alias, "deployment_id": app, "jobs_frozen_by": None})
    w = MaintenanceAssignmentProvider()
    idle = {"alias": alias, "deployment_id": maint, "active": False, "rollout_id": "ro-1", "jobs_frozen_by": "t1"}
    created = w.create(idle)
    assert created.outs["opened"] == "" and transitions(standin, alias) == [(None, app)]  # inactive: no call
    assert w.diff(alias, created.outs, {**idle, "rollout_id": "ro-2"}).changes is False
    active = {**idle, "active": True}
    assert w.diff(alias, created.outs, active).changes is True
    opened = w.update(alias, created.outs, active)
    assert opened.outs["opened"].startswith("ro-1@") and transitions(standin, alias)[-1] == (app, maint)
    assert w.diff(alias, opened.outs, active).changes is False  # the same freeze, the alias on it: already open
    assert w.diff(alias, opened.outs, {**active, "jobs_frozen_by": "t2"}).changes is True  # a new freeze opens again
    # the alias step moves back even to the same deployment id, once per window
    back = {"alias": alias, "deployment_id": app, "jobs_frozen_by": None, "after_maintenance": opened.outs["opened"]}
    was = {"alias": alias, "deployment_id": app, "after_maintenance": ""}
    assert AliasAssignmentProvider().diff(alias, was, back).changes is True
    assert AliasAssignmentProvider().diff(alias, back, back).changes is False
    assert AliasAssignmentProvider().diff(alias, back, {**back, "after_maintenance": ""}).changes is False
    assert w.diff(alias, opened.outs, idle).changes is False  # inactive: nothing to do, the window's state aside
    assert w.update(alias, opened.outs, idle).outs["opened"] == ""
    assert transitions(standin, alias)[-1] == (app, maint)  # inactive never moves the alias
    AliasAssignmentProvider().update(alias, was, back)
    assert w.diff(alias, opened.outs, active).changes is True  # same rollout and freeze, but the alias moved away
    assert w.read(alias, opened.outs).outs == opened.outs
    w.delete(alias, opened.outs)
    assert transitions(standin, alias)[-1] == (maint, app)  # delete leaves the alias where the alias step put it
