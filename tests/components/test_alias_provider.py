"""Alias moves against the Vercel stand-in: one assign call, in place; the transition log has no gap."""

from __future__ import annotations

import uuid

import pytest

from components.providers.alias import AliasAssignmentProvider
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
