"""Alias step: points a Vercel alias at a deployment: an in-place move (one assign call, never delete+create), or,
for a production domain, Vercel's Instant Rollback (rolling back) or promote (rolling forward) of the project."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.dynamic import CheckResult, ReadResult, Resource

from components.providers import vercel_api
from components.providers.base import FROZEN_BY, StepProvider, normalize, public
from components.providers.retrying import Budget

PRODUCTION_VIAS = ("rollback", "promote", "production")  # production: decided from the last applied version
PREVIEW_BUDGET_S = 5.0  # a preview shows the deployment's date when Vercel gives it within this; apply retries more


def production_kind(news: dict[str, Any], olds: dict[str, Any] | None) -> str:
    """rollback or promote: as the program decided it (rollback:deployed known), else from the version this step
    last applied: a lower target version is a rollback; anything else (and a first apply) rolls forward."""
    via = news.get("via")
    if via in ("rollback", "promote"):
        return str(via)
    last, target = (olds or {}).get("version"), news.get("version")
    return "rollback" if isinstance(last, int) and isinstance(target, int) and target < last else "promote"


def move_production(news: dict[str, Any], olds: dict[str, Any] | None, budget: Budget) -> dict[str, Any]:
    """Roll the project's production domains back (Instant Rollback: a later production deployment does not take
    them) or forward (promote: auto-assignment on again), unless that request is already what serves this domain;
    a request still pending at Vercel (an earlier run's) is waited for, not asked again."""
    kind, team, project, dep, alias = (production_kind(news, olds), news.get("team_id"), str(news["project_id"]),
                                       str(news["deployment_id"]), str(news["alias"]))
    before = vercel_api.alias_record(alias, team, budget)
    last = vercel_api.project(project, team, budget).get("lastAliasRequest") or {}
    mine = (last.get("type"), last.get("toDeploymentId")) == (kind, dep)
    done = mine and last.get("jobStatus") == "succeeded"
    if not (done and before and before.get("deploymentId") == dep):  # the project's other domains did it already
        if not (mine and last.get("jobStatus") in ("pending", "in-progress")):
            vercel_api.alias_request(kind, project, dep, team, budget)
        vercel_api.wait_alias_request(kind, project, dep, team, budget)
    after = vercel_api.alias_record(alias, team, budget)
    if not after or after.get("deploymentId") != dep:
        raise RuntimeError(f"after the {kind} of project {project} to {dep}, {alias} points at "
                           f"{(after or {}).get('deploymentId')}: is it a production domain of that project? "
                           "(rollback:vercel.productionDomains)")
    return {**news, "previous_deployment_id": (before or {}).get("deploymentId"), "alias_uid": after.get("uid"),
            "applied_via": kind, "retries": budget.report()}


def created(deployment_id: str, team_id: str | None) -> str | None:
    """When Vercel made the deployment (`2026-12-01 14:03:09 UTC`), for the plan; None when Vercel cannot say."""
    try:
        ms = vercel_api.deployment(deployment_id, team_id, Budget(PREVIEW_BUDGET_S))["createdAt"]
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except Exception:  # a preview must not fail because Vercel is slow or the id is unknown: apply says so
        return None


class AliasAssignmentProvider(StepProvider):
    """One alias domain; a new deployment id is an update (assign, or rollback/promote for a production domain),
    a new domain a create-before-delete replace."""

    step = "alias move"
    keys = ("alias", "deployment_id")
    replace_keys = ("alias",)

    def resource_id(self, props: dict[str, Any]) -> str:
        """The alias domain identifies the resource."""
        return str(props["alias"])

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Adds `deployment_created` so the plan shows which build the alias moves to, and when it was made."""
        props = public(news)
        return CheckResult({**news, "deployment_created": created(str(props["deployment_id"]),
                                                                  props.get("team_id"))}, [])

    def changed(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        """The declared keys, and a maintenance window that moved the alias away since (it must come back)."""
        back = news.get("after_maintenance")
        return [*super().changed(olds, news), *(["after_maintenance"] if back and back != olds.get(
            "after_maintenance") else [])]

    def apply(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """Point the alias at the target deployment (idempotent when it already points there)."""
        budget = Budget.of(news.get("retry_budget"))
        if news.get("via") in PRODUCTION_VIAS:
            return move_production(news, olds, budget)
        before = vercel_api.current_deployment(news["alias"], news.get("team_id"), budget)
        result = vercel_api.assign(news["alias"], news["deployment_id"], news.get("team_id"), budget)
        return {**news, "previous_deployment_id": before, "alias_uid": result.get("uid"), "applied_via": "alias",
                "retries": budget.report()}

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: which deployment the alias points at now."""
        budget = Budget.of(props.get("retry_budget"))
        return ReadResult(id_, {**props, "deployment_id": vercel_api.current_deployment(id_, props.get("team_id"),
                                                                                        budget)})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Only on destroy or when a domain leaves the target: remove that alias."""
        vercel_api.delete_alias(id_, props.get("team_id"), Budget.of(props.get("retry_budget")))


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
        budget = Budget.of(news.get("retry_budget"))
        live = vercel_api.current_deployment(str(news["alias"]), news.get("team_id"), budget)
        if not out and live != news["deployment_id"]:
            out.append("live alias")
        return out

    def apply(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """Active: assign the alias to the maintenance deployment; `opened` is a new token per move."""
        if not news.get("active"):
            return {**news, "opened": ""}  # never null: a null output reads as unknown in the next preview
        budget = Budget.of(news.get("retry_budget"))
        vercel_api.assign(news["alias"], news["deployment_id"], news.get("team_id"), budget)
        return {**news, "opened": f"{news['rollout_id']}@{time.time_ns()}", "retries": budget.report()}

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: the window is what the last rollout recorded (the alias step owns the alias)."""
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Leaves the alias alone: the alias step owns where it points."""


class MaintenanceAssignment(Resource, module="rollback", name="MaintenanceAssignment"):
    """An alias domain held on the maintenance deployment while a window is open."""

    # Outputs, for the type checker only: Pulumi reads runtime class annotations and would convert values by them.
    if TYPE_CHECKING:
        opened: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(MaintenanceAssignmentProvider(), name, {"opened": "", "retries": None, **props}, opts)


class AliasAssignment(Resource, module="rollback", name="AliasAssignment"):
    """An alias domain pointing at a deployment."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        outs = {"previous_deployment_id": None, "alias_uid": None, "applied_via": None, "retries": None}
        super().__init__(AliasAssignmentProvider(), name, {**outs, **props}, opts)
