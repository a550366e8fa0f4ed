"""The stand-in's projects as Vercel's: team scope refused as the API refuses it, production auto-assignment, the
rolled-back state, and dates as the API gives them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from sandbox.vercel_standin import serve

TOKEN = "vt_projects"
TEAM = {"teamId": "team_acme"}


@pytest.fixture
def api() -> Iterator[httpx.Client]:
    server = serve(0, TOKEN)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with httpx.Client(base_url=f"http://127.0.0.1:{server.server_address[1]}", timeout=10,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        client.post("/v11/projects", params=TEAM, json={"name": "web", "id": "prj_web"}).raise_for_status()
        client.post("/v10/projects/prj_web/domains", params=TEAM, json={"name": "www.acme.test"}).raise_for_status()
        yield client
    server.shutdown()
    server.server_close()


def deploy(api: httpx.Client, dep: str, target: str | None = "production") -> None:
    api.post("/v13/deployments", params=TEAM, json={"id": dep, "name": "web", "target": target}).raise_for_status()


def serving(api: httpx.Client) -> str:
    return str(api.get("/v4/aliases/www.acme.test", params=TEAM).json()["deploymentId"])


def test_a_team_project_without_its_team_is_not_found_and_a_foreign_team_is_forbidden(api):
    deploy(api, "dpl_1")
    for path in ("/v9/projects/prj_web", "/v4/aliases/www.acme.test", "/v13/deployments/dpl_1"):
        missing = api.get(path)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        foreign = api.get(path, params={"teamId": "team_other"})
        assert foreign.status_code == 403
        assert foreign.json() == {"error": {"code": "forbidden", "message": "Not authorized to access this team."}}
        assert api.get(path, params=TEAM).status_code == 200
    assert api.post("/v1/projects/prj_web/rollback/dpl_1").status_code == 404
    assert api.post("/v2/deployments/dpl_1/aliases", json={"alias": "x.acme.test"}).status_code == 404


def test_production_deployments_take_the_domains_until_a_rollback_and_again_after_a_promote(api):
    deploy(api, "dpl_1")
    deploy(api, "dpl_preview", target=None)
    deploy(api, "dpl_2")
    assert serving(api) == "dpl_2"  # auto-assignment; a preview deployment never takes them
    assert api.post("/v1/projects/prj_web/rollback/dpl_1", params=TEAM).status_code == 201
    project = api.get("/v9/projects/prj_web", params=TEAM).json()
    assert project["lastRollbackTarget"]["toDeploymentId"] == "dpl_1"
    assert project["lastAliasRequest"] == {**project["lastAliasRequest"], "type": "rollback",
                                           "fromDeploymentId": "dpl_2", "jobStatus": "succeeded"}
    assert project["targets"]["production"]["id"] == "dpl_1"
    deploy(api, "dpl_3")
    assert serving(api) == "dpl_1"  # rolled back: the next merge does not undo it
    assert api.post("/v10/projects/prj_web/promote/dpl_3", params=TEAM).status_code == 201
    assert serving(api) == "dpl_3" and api.get("/v9/projects/prj_web", params=TEAM).json()["lastRollbackTarget"] is None
    deploy(api, "dpl_4")
    assert serving(api) == "dpl_4"
    assert api.post("/v1/projects/prj_web/rollback/dpl_nope", params=TEAM).status_code == 404


def test_alias_dates_are_iso_strings_and_milliseconds(api):
    deploy(api, "dpl_1", target=None)
    moved = api.post("/v2/deployments/dpl_1/aliases", params=TEAM, json={"alias": "p.acme.test"}).json()
    created = datetime.fromisoformat(moved["created"].replace("Z", "+00:00"))
    assert created.year >= 2025 and moved["created"].endswith("Z")
    rec = api.get("/v4/aliases/p.acme.test", params=TEAM).json()
    assert rec["created"] == moved["created"] and isinstance(rec["createdAt"], int)
    assert abs(rec["createdAt"] / 1000 - created.timestamp()) < 0.01
