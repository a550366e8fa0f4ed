"""The stand-in's projects and teams: team scoping, production domains, Instant Rollback and promote, as Vercel does.

Scope: every /v* call acts for the personal account, or for the team named by its `teamId` query parameter. A
team the token is not a member of is refused (403 forbidden); a resource of another scope is not found (404), as
Vercel answers for a team project called without its `teamId`. A project's production domains follow each new
production deployment (auto-assignment) until an Instant Rollback puts the project in the rolled-back state
(`lastRollbackTarget` set); a promote assigns them again and ends that state.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any

USER_ID = "user_standin"


class Refused(Exception):
    """An API error: HTTP status and Vercel's {"error": {"code", "message"}} body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return {"error": {"code": self.code, "message": self.message}}


def now_ms() -> int:
    """Epoch milliseconds, as Vercel's numeric timestamps."""
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    """An ISO 8601 UTC date with milliseconds, as Vercel's date strings (e.g. an alias's `created`)."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_team(teams: set[str], scope: str | None) -> None:
    """A teamId the token is not a member of is refused."""
    if scope is not None and scope not in teams:
        raise Refused(403, "forbidden", "Not authorized to access this team.")


def in_scope(owner: str | None, scope: str | None, what: str) -> None:
    """A resource of another scope (a team project called without its teamId) is not found."""
    if owner != scope:
        raise Refused(404, "not_found", f"{what} not found")


def new_project(name: str, team: str | None, project_id: str | None = None) -> dict[str, Any]:
    """A project record (internal fields; `project_body` is what the API returns)."""
    at = now_ms()
    return {"id": project_id or f"prj_{secrets.token_hex(12)}", "name": name, "teamId": team, "createdAt": at,
            "updatedAt": at, "domains": [], "production": None, "lastAliasRequest": None,
            "lastRollbackTarget": None}


def alias_request(kind: str, from_id: str | None, to_id: str) -> dict[str, Any]:
    """A project's `lastAliasRequest` for a promote or rollback, succeeded (the store may keep it in progress)."""
    return {"fromDeploymentId": from_id, "toDeploymentId": to_id, "jobStatus": "succeeded",
            "requestedAt": now_ms(), "type": kind}


def target_body(dep: dict[str, Any]) -> dict[str, Any]:
    """A deployment as a project's `targets.production`."""
    return {"id": dep["id"], "name": dep["name"], "url": dep["url"], "deploymentHostname": dep["url"],
            "createdAt": dep["createdAt"], "createdIn": "iad1", "creator": None, "plan": "pro", "private": True,
            "readyState": dep["readyState"], "type": "LAMBDAS", "aliasAssigned": dep["createdAt"],
            "aliasError": None, "target": "production"}


def deployment_body(dep: dict[str, Any]) -> dict[str, Any]:
    """A deployment as GET /v13/deployments/{id} returns it (meta values are strings there, as on Vercel)."""
    at = dep["createdAt"]
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in dep["meta"].items()}
    return {"id": dep["id"], "name": dep["name"], "url": dep["url"], "createdAt": at, "buildingAt": at,
            "bootedAt": at, "ready": at, "createdIn": "iad1", "ownerId": dep["ownerId"] or USER_ID,
            "projectId": dep["projectId"], "readyState": dep["readyState"], "status": dep["readyState"],
            "target": dep["target"], "type": "LAMBDAS", "version": 2, "plan": "pro", "public": False,
            "aliasAssigned": True, "buildSkipped": False, "isInConcurrentBuildsQueue": False,
            "isInSystemBuildsQueue": False, "env": [], "regions": ["iad1"], "routes": None, "gitRepo": None,
            "inspectorUrl": None, "meta": meta, "build": {"env": []}, "creator": {"uid": USER_ID},
            "projectSettings": {}}


def project_body(p: dict[str, Any], deployments: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """GET /v9/projects/{idOrName}: the fields of Vercel's project object the SDK requires, and the rollback state."""
    prod = deployments.get(p["production"] or "")
    resources = {"functionDefaultRegions": ["iad1"]}
    return {
        "id": p["id"], "name": p["name"], "accountId": p["teamId"] or USER_ID, "createdAt": p["createdAt"],
        "updatedAt": p["updatedAt"], "nodeVersion": "22.x", "directoryListing": False,
        "alias": [{"domain": d, "environment": "production", "target": "PRODUCTION", "deployment": None}
                  for d in p["domains"]],
        "defaultResourceConfig": resources, "resourceConfig": resources, "deploymentExpiration": {},
        "connectConfigurations": None, "deploymentPolicy": None, "optionsAllowlist": None,
        "passwordProtection": None, "ssoProtection": None, "trustedSources": None,
        "lastAliasRequest": p["lastAliasRequest"], "lastRollbackTarget": p["lastRollbackTarget"],
        "targets": {"production": target_body(prod)} if prod else {},
        "live": False, "serverlessFunctionRegion": "iad1",
    }
