"""E2E through the real engine: a team-scoped production project rolled back with Vercel's Instant Rollback (a new
production deployment then does not take the domains) and rolled forward with promote (auto-assignment again)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pulumi.automation import EngineEvent

from rollback.plan import steps_from_events
from sandbox import seed_deployments
from tests.components.e2e_support import ALIAS, pre_event

pytestmark = pytest.mark.e2e


@pytest.fixture
def team(rig) -> Iterator[dict[str, Any]]:
    """rollback:vercel for a fresh team project whose production domain is the stack's alias domain; afterwards
    the session's stand-in gets the local stack's personal deployments back."""
    tag = uuid.uuid4().hex[:10]
    vercel = {"projectId": f"prj_{tag}", "teamId": f"team_{tag}", "productionDomains": [ALIAS]}
    seed_deployments(rig.sandbox, "local", settings={"vercel": vercel})
    try:
        yield vercel
    finally:
        with _client(rig, vercel["teamId"]) as c:
            c.delete(f"/v2/aliases/{ALIAS}")
        seed_deployments(rig.sandbox)


def _client(rig: Any, team: str | None) -> httpx.Client:
    return httpx.Client(base_url=rig.env["VERCEL_API_URL"], timeout=10, params={"teamId": team} if team else None,
                        headers={"Authorization": f"Bearer {rig.env['VERCEL_TOKEN']}"})


def serving(rig: Any, team: str) -> str | None:
    with _client(rig, team) as c:
        resp = c.get(f"/v4/aliases/{ALIAS}")
    return resp.json()["deploymentId"] if resp.status_code == 200 else None


def production_deploy(rig: Any, vercel: dict[str, Any], dep_id: str) -> None:
    """A new production deployment of the project (the next merge to main)."""
    with _client(rig, vercel["teamId"]) as c:
        c.post("/v13/deployments", json={"id": dep_id, "name": "shop-web", "project": vercel["projectId"],
                                         "target": "production"}).raise_for_status()


def project(rig: Any, vercel: dict[str, Any]) -> dict[str, Any]:
    with _client(rig, vercel["teamId"]) as c:
        return dict(c.get(f"/v9/projects/{vercel['projectId']}").raise_for_status().json())


def vias(rig: Any) -> list[tuple[str | None, str | None, str]]:
    with _client(rig, None) as c:
        log = c.get("/_standin/transitions").json()["transitions"]
    return [(t["from"], t["to"], t["via"]) for t in log if t["alias"] == ALIAS and t["at"] >= rig.started]


def test_team_production_rolls_back_with_instant_rollback_and_forward_with_promote(rig, team):
    up1 = rig.stack("v1.3.0", vercel=team).up()  # nothing deployed yet: a first apply promotes
    assert up1.summary.result == "succeeded" and serving(rig, team["teamId"]) == "dpl_v130"
    rig.stack("v1.4.2", deployed=1, vercel=team).up()
    assert serving(rig, team["teamId"]) == "dpl_v142"
    with _client(rig, None) as personal:  # the alias is the team's: without teamId it does not exist
        assert personal.get(f"/v4/aliases/{ALIAS}").status_code == 404

    events: list[EngineEvent] = []
    rig.stack("v1.3.0", deployed=2, vercel=team).preview(on_event=events.append)
    inputs = pre_event(events, "AliasAssignment").new.inputs
    assert (inputs["via"], inputs["project_id"], inputs["team_id"]) == ("rollback", team["projectId"], team["teamId"])
    notes = [n for s in steps_from_events(events) for n in s.notes]
    assert notes == [f"production domains of Vercel project {team['projectId']}: Instant Rollback to dpl_v130; the "
                     "project stays rolled back, so a new production deployment does not take them until a roll "
                     "forward (promote)"]

    back = rig.stack("v1.3.0", deployed=2, vercel=team).up()
    assert back.summary.result == "succeeded" and serving(rig, team["teamId"]) == "dpl_v130"
    p = project(rig, team)
    assert p["lastRollbackTarget"]["toDeploymentId"] == "dpl_v130"
    assert p["targets"]["production"]["id"] == "dpl_v130"

    production_deploy(rig, team, "dpl_nextmerge1")  # the next merge: built, but the domains stay rolled back
    assert serving(rig, team["teamId"]) == "dpl_v130"

    forward = rig.stack("v1.4.2", deployed=1, vercel=team).up()
    assert forward.summary.result == "succeeded" and serving(rig, team["teamId"]) == "dpl_v142"
    assert project(rig, team)["lastRollbackTarget"] is None
    production_deploy(rig, team, "dpl_nextmerge2")  # auto-assignment is back
    assert serving(rig, team["teamId"]) == "dpl_nextmerge2"
    assert vias(rig) == [(None, "dpl_v130", "promote"), ("dpl_v130", "dpl_v142", "promote"),
                         ("dpl_v142", "dpl_v130", "rollback"), ("dpl_v130", "dpl_v142", "promote"),
                         ("dpl_v142", "dpl_nextmerge2", "auto-assign")]
