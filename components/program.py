"""The Pulumi program: resolve the stack's `rollback:target` in rollback_stacks and declare one Release."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi

from components import jobs_settings, lock_settings, vercel_settings
from components.partial import merge
from components.release import Release, ReleaseArgs
from components.rollout import COMPONENTS
from components.target import load_target


def _settings(config: pulumi.Config) -> dict[str, Any]:
    """Every rollback:* setting the program reads, with defaults."""
    budget = config.get_float("healthBudgetSeconds")
    return {
        "target": config.require("target"),
        "components": list(config.get_object("components") or COMPONENTS),
        "allow_data_loss": bool(config.get_bool("allowDataLoss") or False),
        "deployed": config.get_int("deployed"),
        "allow_candidate": bool(config.get_bool("allowCandidate") or False),
        "partial": config.get_object("partial"),
        "deployed_partial": config.get_object("deployedPartial"),
        "allowed_domains": config.get_object("allowedDomains"),
        "snapshot_destination": config.get("snapshotDestination") or "s3",
        "rds_instance": config.get("rdsInstance"),
        "jobs": config.get_object("jobs"),
        "vercel": config.get_object("vercel"),
        "locks": config.get_object("locks"),
        "cancel_blockers": bool(config.get_bool("cancelBlockers") or False),
        "health_budget_seconds": budget,
        "maintenance": bool(config.get_bool("maintenance") or False),
        "maintenance_deployment": config.get("maintenanceDeployment"),
    }


def pulumi_program() -> None:
    """Declare the release of the resolved target and export what was deployed."""
    import rollback_stacks

    s = _settings(pulumi.Config("rollback"))
    stack = pulumi.get_stack()
    record = rollback_stacks.load(stack)
    version = record.resolve(s["target"], deployed=s["deployed"], allow_candidate=s["allow_candidate"])
    target = load_target(record, version)
    deployed = load_target(record, record.find(str(s["deployed"]))) if s["deployed"] is not None else None
    was = s["deployed_partial"]
    if deployed is not None and isinstance(was, dict) and was.get("components"):
        deployed = merge(deployed, load_target(record, record.find(str(was["version"]))), was["components"])
    if s["partial"] is not None and deployed is not None:
        target = merge(deployed, target, s["partial"])
    if s["maintenance"] and not s["maintenance_deployment"]:
        raise ValueError(f"--maintenance needs the deployment to serve meanwhile: set rollback:maintenanceDeployment "
                         f"in Pulumi.{stack}.yaml (a deployment id of the stack's Vercel project)")
    allowed = s["allowed_domains"]
    if allowed is not None and "alias" in s["components"]:
        outside = [d for d in target.domains if d not in allowed]
        if outside:
            raise ValueError(f"{version.label}: alias domain(s) {', '.join(outside)} "
                             "are not in rollback:allowedDomains")
    jobs = jobs_settings.parse(s["jobs"], stack=stack, default_backend=target.jobs_backend)
    target = replace(target, jobs_backend=jobs.backend)  # the rollout id follows the backend in use
    vercel = vercel_settings.parse(s["vercel"], stack=stack)
    locks = lock_settings.parse(s["locks"], stack=stack, cancel_blockers=s["cancel_blockers"])
    release = Release("release", ReleaseArgs(
        target=target, components=s["components"], deployed=deployed,
        maintenance_deployment=s["maintenance_deployment"], maintenance=s["maintenance"],
        allow_data_loss=s["allow_data_loss"], stack=stack,
        snapshot_destination=s["snapshot_destination"], rds_instance_identifier=s["rds_instance"],
        jobs=jobs, locks=locks, health_budget_seconds=s["health_budget_seconds"], alias_variant=vercel.alias_variant,
        vercel_team_id=vercel.team_id, vercel_project_id=vercel.project_id,
        production_domains=vercel.production_domains))
    pulumi.export("version", target.version)
    pulumi.export("label", target.label)
    pulumi.export("deployment_id", target.deployment_id)
    pulumi.export("schema_version", release.schema_version)
    pulumi.export("snapshot_reference", release.snapshot_reference)
    pulumi.export("rollout_id", release.rollout_id)
    pulumi.export("jobs_frozen", release.jobs_frozen)
    pulumi.export("components", [c for c in COMPONENTS if c in s["components"]])
    pulumi.export("partial", {"version": version.version, "components": s["partial"]} if s["partial"] else None)
