"""Alias step: points a Vercel alias at a deployment with one assign call (an in-place move, never delete+create)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pulumi
from pulumi.dynamic import ReadResult, Resource

from components import runtime_env
from components.providers.base import FROZEN_BY, StepProvider, normalize


def _client() -> httpx.Client:
    base, headers = runtime_env.vercel_api()
    return httpx.Client(base_url=base, headers=headers, timeout=15.0)


def assign(alias: str, deployment_id: str) -> dict[str, Any]:
    """POST /v2/deployments/{id}/aliases: Vercel moves an existing alias in place (no window without it)."""
    with _client() as client:
        resp = client.post(f"/v2/deployments/{deployment_id}/aliases", json={"alias": alias})
    if resp.status_code != 200:
        raise RuntimeError(f"assigning {alias} to {deployment_id}: HTTP {resp.status_code} {resp.text[:200]}")
    return resp.json()


def current_deployment(alias: str) -> str | None:
    """The deployment id alias points at now, or None when the alias does not exist."""
    with _client() as client:
        resp = client.get(f"/v4/aliases/{alias}")
    if resp.status_code == 404:
        return None
    resp.raise_for_status()
    return str(resp.json().get("deploymentId"))


class AliasAssignmentProvider(StepProvider):
    """One alias domain; a new deployment id is an update (assign), a new domain a create-before-delete replace."""

    step = "alias move"
    keys = ("alias", "deployment_id")
    replace_keys = ("alias",)

    def resource_id(self, props: dict[str, Any]) -> str:
        """The alias domain identifies the resource."""
        return str(props["alias"])

    def changed(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        """The declared keys, and a maintenance window that moved the alias away since (it must come back)."""
        back = news.get("after_maintenance")
        return [*super().changed(olds, news), *(["after_maintenance"] if back and back != olds.get(
            "after_maintenance") else [])]

    def apply(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """Assign the alias to the target deployment (idempotent when it already points there)."""
        result = assign(news["alias"], news["deployment_id"])
        return {**news, "previous_deployment_id": result.get("oldDeploymentId"), "alias_uid": result.get("uid")}

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: which deployment the alias points at now."""
        return ReadResult(id_, {**props, "deployment_id": current_deployment(id_)})

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        """Only on destroy or when a domain leaves the target: remove that alias."""
        with _client() as client:
            resp = client.delete(f"/v2/aliases/{id_}")
        if resp.status_code not in (200, 404):
            raise RuntimeError(f"deleting alias {id_}: HTTP {resp.status_code}")


class MaintenanceAssignmentProvider(StepProvider):
    """While active, one alias domain points at the maintenance deployment; inactive, it touches nothing."""

    step = "maintenance window"

    def resource_id(self, props: dict[str, Any]) -> str:
        """The alias domain identifies the resource."""
        return str(props["alias"])

    def changed(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        """Active: opens for a new rollout or freeze, or while the alias is elsewhere; inactive: nothing to do."""
        if not news.get("active"):
            return []
        keys = ("alias", "deployment_id", "active", "rollout_id", FROZEN_BY)
        out = [k for k in keys if normalize(olds.get(k)) != normalize(news.get(k))]
        if not out and current_deployment(str(news["alias"])) != news["deployment_id"]:
            out.append("live alias")
        return out

    def apply(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """Active: assign the alias to the maintenance deployment; `opened` is a new token per move."""
        if not news.get("active"):
            return {**news, "opened": ""}  # never null: a null output reads as unknown in the next preview
        assign(news["alias"], news["deployment_id"])
        return {**news, "opened": f"{news['rollout_id']}@{time.time_ns()}"}

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: the window is what the last rollout recorded (the alias step owns the alias)."""
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Leaves the alias alone: the alias step owns where it points."""


class MaintenanceAssignment(Resource, module="rollback", name="MaintenanceAssignment"):
    """An alias domain held on the maintenance deployment while a window is open."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(MaintenanceAssignmentProvider(), name, {"opened": "", **props}, opts)


class AliasAssignment(Resource, module="rollback", name="AliasAssignment"):
    """An alias domain pointing at a deployment."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        outs = {"previous_deployment_id": None, "alias_uid": None}
        super().__init__(AliasAssignmentProvider(), name, {**outs, **props}, opts)
