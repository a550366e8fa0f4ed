"""Every Vercel REST call the product makes, each scoped to the stack's team (`teamId`); tests/contract holds the
stand-in to Vercel's published schema for each of them (CALLS).

Each call runs within its step's retry budget (retrying.Budget). Which calls may be repeated after a transient
answer, and why:
- the GETs read, and DELETE of an alias ends in the same state when repeated (a 404 is success);
- assigning an alias to a deployment is idempotent: a second assignment to the same deployment leaves it there
  (only `oldDeploymentId` of the answer then names the target itself: the step reads the alias first);
- a rollback or promote request starts a job at Vercel: before repeating it the project's `lastAliasRequest` is
  read, and a request of the same kind to the same deployment made since the first attempt counts as accepted, so
  a job is never requested twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from components import runtime_env
from components.providers.retrying import PROGRESS_EVERY_S, TRANSIENT_STATUS, Budget, Transient

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
POLL_S = 1.0


def client(team_id: str | None = None, timeout: float = 15.0) -> httpx.Client:
    """A client of VERCEL_API_URL with the token, sending teamId on every call when the project is a team's."""
    base, headers = runtime_env.vercel_api()
    return httpx.Client(base_url=base, headers=headers, params={"teamId": team_id} if team_id else None,
                        timeout=timeout)


def _request(budget: Budget | None, method: str, path: str, team_id: str | None, *, json: Any = None,
             before_retry: Callable[[], httpx.Response | None] | None = None) -> httpx.Response:
    """One call within the budget: a transient answer (429, 5xx, no answer) is retried; any other is returned."""
    budget = budget or Budget()
    endpoint = f"{method} {path}"

    def attempt() -> httpx.Response:
        try:
            with client(team_id, budget.timeout()) as c:
                resp = c.request(method, path, json=json)
        except httpx.TransportError as err:  # refused, reset, dropped, timed out: no usable answer
            raise Transient(endpoint, type(err).__name__) from None
        if resp.status_code in TRANSIENT_STATUS:
            raise Transient(endpoint, resp.status_code, resp.headers)
        return resp

    return budget.call(attempt, before_retry)


def _failed(what: str, resp: httpx.Response) -> RuntimeError:
    return RuntimeError(f"{what}: HTTP {resp.status_code} {resp.text[:200]}")


def assign(alias: str, deployment_id: str, team_id: str | None = None, budget: Budget | None = None
           ) -> dict[str, Any]:
    """POST /v2/deployments/{id}/aliases: Vercel moves an existing alias in place (no window without it)."""
    resp = _request(budget, "POST", f"/v2/deployments/{deployment_id}/aliases", team_id, json={"alias": alias})
    if resp.status_code != 200:
        raise _failed(f"assigning {alias} to {deployment_id}", resp)
    return dict(resp.json())


def alias_record(alias: str, team_id: str | None = None, budget: Budget | None = None) -> dict[str, Any] | None:
    """GET /v4/aliases/{alias}: the alias, or None when it does not exist."""
    resp = _request(budget, "GET", f"/v4/aliases/{alias}", team_id)
    if resp.status_code == 404:
        return None
    if resp.status_code != 200:
        raise _failed(f"reading alias {alias}", resp)
    return dict(resp.json())


def deployment(deployment_id: str, team_id: str | None = None, budget: Budget | None = None) -> dict[str, Any]:
    """GET /v13/deployments/{id}: the deployment (its `createdAt` in ms since the epoch, among others)."""
    resp = _request(budget, "GET", f"/v13/deployments/{deployment_id}", team_id)
    if resp.status_code != 200:
        raise _failed(f"reading deployment {deployment_id}", resp)
    return dict(resp.json())


def current_deployment(alias: str, team_id: str | None = None, budget: Budget | None = None) -> str | None:
    """The deployment id alias points at now, or None when the alias does not exist."""
    rec = alias_record(alias, team_id, budget)
    return str(rec.get("deploymentId")) if rec else None


def delete_alias(alias: str, team_id: str | None = None, budget: Budget | None = None) -> None:
    """DELETE /v2/aliases/{alias} (an absent alias is fine)."""
    resp = _request(budget, "DELETE", f"/v2/aliases/{alias}", team_id)
    if resp.status_code not in (200, 404):
        raise _failed(f"deleting alias {alias}", resp)


def project(project_id: str, team_id: str | None = None, budget: Budget | None = None) -> dict[str, Any]:
    """GET /v9/projects/{idOrName}: the project, with its last promote/rollback request and rolled-back state."""
    resp = _request(budget, "GET", f"/v9/projects/{project_id}", team_id)
    if resp.status_code != 200:
        scope = f"team {team_id}" if team_id else "the token's personal account (no rollback:vercel.teamId)"
        raise _failed(f"reading project {project_id} in {scope}", resp)
    return dict(resp.json())


def _requested(last: dict[str, Any], kind: str, deployment_id: str, since_ms: int) -> bool:
    """Whether the project's last alias request is this kind to this deployment, made at or after since_ms."""
    return (last.get("type"), last.get("toDeploymentId")) == (kind, deployment_id) and isinstance(
        last.get("requestedAt"), int | float) and last["requestedAt"] >= since_ms


def alias_request(kind: str, project_id: str, deployment_id: str, team_id: str | None = None,
                  budget: Budget | None = None) -> int:
    """POST Instant Rollback (kind "rollback") or promote (kind "promote") of a project to a deployment; returns
    when it was asked (epoch ms, for wait_alias_request). Repeated after a transient answer only when the project
    shows no such request since the first attempt."""
    budget = budget or Budget()
    path = (f"/v1/projects/{project_id}/rollback/{deployment_id}" if kind == "rollback"
            else f"/v10/projects/{project_id}/promote/{deployment_id}")
    since = int(time.time() * 1000) - 1000  # Vercel's clock may trail ours a little

    def accepted() -> httpx.Response | None:
        last = project(project_id, team_id, budget).get("lastAliasRequest") or {}
        return httpx.Response(202) if _requested(last, kind, deployment_id, since) else None

    resp = _request(budget, "POST", path, team_id, before_retry=accepted)
    if resp.status_code not in (200, 201, 202):
        raise _failed(f"{kind} of project {project_id} to {deployment_id}", resp)
    return since


def wait_alias_request(kind: str, project_id: str, deployment_id: str, team_id: str | None = None,
                       budget: Budget | None = None) -> dict[str, Any]:
    """Poll the project until its last alias request (this one) is done, within the step's budget; the project, or
    an error when Vercel reports it failed or the budget runs out while it is pending."""
    budget = budget or Budget()
    polls, said = 0, time.monotonic()
    while True:
        p = project(project_id, team_id, budget)
        last = p.get("lastAliasRequest") or {}
        polls += 1
        mine = last.get("toDeploymentId") == deployment_id and last.get("type") == kind
        if mine and last.get("jobStatus") in DONE:
            if last["jobStatus"] == "failed":
                raise RuntimeError(f"Vercel reports the {kind} of project {project_id} to {deployment_id} failed "
                                   f"(GET /v9/projects/{project_id}: lastAliasRequest.jobStatus failed after "
                                   f"{polls} polls); the alias is unchanged: check the deployment at Vercel, then "
                                   "run the apply again")
            return p
        status = last.get("jobStatus") if mine else "not started"
        if budget.remaining() < POLL_S:
            raise budget.spent(f"GET /v9/projects/{project_id}: the {kind} to {deployment_id} is still "
                               f"{status} after {polls} polls")
        if time.monotonic() - said >= PROGRESS_EVERY_S or polls == 1:
            budget.progress(f"waiting for Vercel's {kind} of project {project_id} to {deployment_id}: {status}")
            said = time.monotonic()
        budget.pause(POLL_S)
