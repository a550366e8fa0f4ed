"""Every Vercel REST call the product makes, each scoped to the stack's team (`teamId`); tests/contract holds the
stand-in to Vercel's published schema for each of them (CALLS)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from components import runtime_env

CALLS = (  # (method, path) of each call below, as Vercel's API reference writes them
    ("POST", "/v2/deployments/{id}/aliases"),
    ("GET", "/v4/aliases/{idOrAlias}"),
    ("GET", "/v13/deployments/{idOrUrl}"),
    ("DELETE", "/v2/aliases/{aliasId}"),
    ("GET", "/v9/projects/{idOrName}"),
    ("POST", "/v1/projects/{projectId}/rollback/{deploymentId}"),
    ("POST", "/v10/projects/{projectId}/promote/{deploymentId}"),
)
DONE = ("succeeded", "failed", "skipped")


def client(team_id: str | None = None) -> httpx.Client:
    """A client of VERCEL_API_URL with the token, sending teamId on every call when the project is a team's."""
    base, headers = runtime_env.vercel_api()
    return httpx.Client(base_url=base, headers=headers, params={"teamId": team_id} if team_id else None,
                        timeout=15.0)


def _failed(what: str, resp: httpx.Response) -> RuntimeError:
    return RuntimeError(f"{what}: HTTP {resp.status_code} {resp.text[:200]}")


def assign(alias: str, deployment_id: str, team_id: str | None = None) -> dict[str, Any]:
    """POST /v2/deployments/{id}/aliases: Vercel moves an existing alias in place (no window without it)."""
    with client(team_id) as c:
        resp = c.post(f"/v2/deployments/{deployment_id}/aliases", json={"alias": alias})
    if resp.status_code != 200:
        raise _failed(f"assigning {alias} to {deployment_id}", resp)
    return dict(resp.json())


def alias_record(alias: str, team_id: str | None = None) -> dict[str, Any] | None:
    """GET /v4/aliases/{alias}: the alias, or None when it does not exist."""
    with client(team_id) as c:
        resp = c.get(f"/v4/aliases/{alias}")
    if resp.status_code == 404:
        return None
    if resp.status_code != 200:
        raise _failed(f"reading alias {alias}", resp)
    return dict(resp.json())


def deployment(deployment_id: str, team_id: str | None = None) -> dict[str, Any]:
    """GET /v13/deployments/{id}: the deployment (its `createdAt` in ms since the epoch, among others)."""
    with client(team_id) as c:
        resp = c.get(f"/v13/deployments/{deployment_id}")
    if resp.status_code != 200:
        raise _failed(f"reading deployment {deployment_id}", resp)
    return dict(resp.json())


def current_deployment(alias: str, team_id: str | None = None) -> str | None:
    """The deployment id alias points at now, or None when the alias does not exist."""
    rec = alias_record(alias, team_id)
    return str(rec.get("deploymentId")) if rec else None


def delete_alias(alias: str, team_id: str | None = None) -> None:
    """DELETE /v2/aliases/{alias} (an absent alias is fine)."""
    with client(team_id) as c:
        resp = c.delete(f"/v2/aliases/{alias}")
    if resp.status_code not in (200, 404):
        raise _failed(f"deleting alias {alias}", resp)


def project(project_id: str, team_id: str | None = None) -> dict[str, Any]:
    """GET /v9/projects/{idOrName}: the project, with its last promote/rollback request and rolled-back state."""
    with client(team_id) as c:
        resp = c.get(f"/v9/projects/{project_id}")
    if resp.status_code != 200:
        scope = f"team {team_id}" if team_id else "the token's personal account (no rollback:vercel.teamId)"
        raise _failed(f"reading project {project_id} in {scope}", resp)
    return dict(resp.json())


def alias_request(kind: str, project_id: str, deployment_id: str, team_id: str | None = None) -> None:
    """POST Instant Rollback (kind "rollback") or promote (kind "promote") of a project to a deployment."""
    path = (f"/v1/projects/{project_id}/rollback/{deployment_id}" if kind == "rollback"
            else f"/v10/projects/{project_id}/promote/{deployment_id}")
    with client(team_id) as c:
        resp = c.post(path)
    if resp.status_code not in (200, 201, 202):
        raise _failed(f"{kind} of project {project_id} to {deployment_id}", resp)


def wait_alias_request(kind: str, project_id: str, deployment_id: str, team_id: str | None = None,
                       timeout: float = 120.0) -> dict[str, Any]:
    """Poll the project until its last alias request (this one) is done; the project, or an error when it failed."""
    deadline = time.monotonic() + timeout
    while True:
        p = project(project_id, team_id)
        last = p.get("lastAliasRequest") or {}
        if last.get("toDeploymentId") == deployment_id and last.get("type") == kind and last.get("jobStatus") in DONE:
            if last["jobStatus"] == "failed":
                raise RuntimeError(f"Vercel reports the {kind} of project {project_id} to {deployment_id} failed")
            return p
        if time.monotonic() > deadline:
            raise RuntimeError(f"the {kind} of project {project_id} to {deployment_id} is not done after "
                               f"{timeout:.0f} s (last request: {last or 'none'})")
        time.sleep(1.0)
