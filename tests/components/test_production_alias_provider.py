"""Production domains against the stand-in, team-scoped: Instant Rollback going back, promote going forward, one
request for all of a project's domains, and refusals that name the cause."""

from __future__ import annotations

import uuid

import pytest

from components.providers.alias import AliasAssignmentProvider, production_kind
from components.providers.base import StepFailed


@pytest.fixture
def team(standin) -> dict[str, str]:
    """A fresh team project with two production domains and three production deployments (the last serving)."""
    tag = uuid.uuid4().hex[:10]
    t = {"team": f"team_{tag}", "project": f"prj_{tag}", "a": f"dpl_a{tag}", "b": f"dpl_b{tag}",
         "www": f"www.{tag}.test", "apex": f"{tag}.test"}
    scope = {"teamId": t["team"]}
    assert standin.post("/v11/projects", params=scope, json={"name": f"web{tag}", "id": t["project"]}).is_success
    for dep in (t["a"], t["b"]):
        assert standin.post("/v13/deployments", params=scope, json={"id": dep, "name": f"web{tag}",
                                                                    "project": t["project"]}).is_success
    for domain in (t["www"], t["apex"]):
        assert standin.post(f"/v10/projects/{t['project']}/domains", params=scope, json={"name": domain}).is_success
    return t


def props(t: dict[str, str], domain: str, dep: str, via: str = "production", version: int = 2) -> dict:
    return {"alias": t[domain], "deployment_id": t[dep], "team_id": t["team"], "project_id": t["project"],
            "via": via, "version": version, "jobs_frozen_by": None}


def served(standin, t: dict[str, str], domain: str) -> str | None:
    resp = standin.get(f"/v4/aliases/{t[domain]}", params={"teamId": t["team"]})
    return resp.json()["deploymentId"] if resp.status_code == 200 else None


def requests(standin, t: dict[str, str], domain: str) -> list[str]:
    log = standin.get("/_standin/transitions").json()["transitions"]
    return [e["via"] for e in log if e["alias"] == t[domain]]


def test_rollback_by_version_stops_auto_assignment_and_promote_restores_it(db, standin, team):
    p = AliasAssignmentProvider()
    created = p.create(props(team, "www", "b"))  # a first apply rolls forward
    assert created.outs["applied_via"] == "promote" and served(standin, team, "apex") == team["b"]
    second = p.create(props(team, "apex", "b"))  # the project's other domain: already moved, no second request
    assert second.outs["applied_via"] == "promote" and requests(standin, team, "apex") == ["promote"]

    back = p.update(team["www"], created.outs, props(team, "www", "a", version=1))  # lower version: rollback
    assert back.outs["applied_via"] == "rollback" and back.outs["previous_deployment_id"] == team["b"]
    assert (served(standin, team, "www"), served(standin, team, "apex")) == (team["a"], team["a"])
    scope = {"teamId": team["team"]}
    standin.post("/v13/deployments", params=scope, json={"id": f"{team['b']}x", "name": "x", "target": "production",
                                                          "project": team["project"]}).raise_for_status()
    assert served(standin, team, "www") == team["a"]  # rolled back: the new production deployment waits

    forward = p.update(team["www"], back.outs, props(team, "www", "b", version=2))
    assert forward.outs["applied_via"] == "promote" and served(standin, team, "www") == team["b"]
    standin.post("/v13/deployments", params=scope, json={"id": f"{team['b']}y", "name": "y", "target": "production",
                                                          "project": team["project"]}).raise_for_status()
    assert served(standin, team, "www") == f"{team['b']}y"
    assert p.read(team["www"], forward.outs).outs["deployment_id"] == f"{team['b']}y"


def test_the_program_decides_when_it_knows_what_is_deployed():
    assert production_kind({"via": "rollback", "version": 9}, {"version": 1}) == "rollback"
    assert production_kind({"via": "promote", "version": 1}, {"version": 9}) == "promote"
    assert production_kind({"via": "production", "version": 1}, {"version": 2}) == "rollback"
    assert production_kind({"via": "production", "version": 2}, {"version": 2}) == "promote"
    assert production_kind({"via": "production", "version": 1}, None) == "promote"


def test_a_domain_the_project_does_not_own_fails_naming_the_setting(db, standin, team):
    standin.post(f"/v2/deployments/{team['a']}/aliases", params={"teamId": team["team"]},
                 json={"alias": "custom.example.test"}).raise_for_status()
    bad = {**props(team, "www", "b"), "alias": "custom.example.test"}
    with pytest.raises(StepFailed, match=r"custom.example.test points at dpl_a.*rollback:vercel.productionDomains"):
        AliasAssignmentProvider().create(bad)


@pytest.mark.parametrize(("team_id", "status"), [(None, "404"), ("team_notamember", "403")])
def test_a_missing_or_wrong_team_is_refused_by_the_api(db, standin, team, team_id, status):
    with pytest.raises(StepFailed, match=rf"alias move failed: .*HTTP {status}.*ro-9"):
        AliasAssignmentProvider().create({**props(team, "www", "b"), "team_id": team_id, "jobs_frozen_by": "ro-9"})
    with pytest.raises(StepFailed, match=rf"HTTP {status}"):
        AliasAssignmentProvider().create({"alias": team["www"], "deployment_id": team["b"], "team_id": team_id,
                                          "via": "alias", "jobs_frozen_by": None})
