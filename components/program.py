"""The Pulumi program: resolve the stack's `rollback:target` in rollback_stacks and declare one Release."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pulumi

from components import jobs_settings, lock_settings, retry_settings, vercel_settings
from components.compatibility import OrderRefused
from components.jobs_settings import JobsSettingError
from components.lock_settings import LockSettingError
from components.partial import merge
from components.release import Release, ReleaseArgs
from components.retry_settings import RetrySettingError
from components.rollout import COMPONENTS
from components.runtime_env import MissingSetting
from components.target import load_target
from components.vercel_settings import VercelSettingError
from rollback_stacks.errors import TargetError
from rollback_stacks.settings import SettingError

if TYPE_CHECKING:
    from rollback_stacks.store import StackRecord


def _settings(config: pulumi.Config) -> dict[str, Any]:
    """Every rollback:* setting the program reads, parsed as our verbs parse them (rollback_stacks.settings)."""
    from pulumi.runtime.config import CONFIG

    from rollback_stacks import settings

    prefix = f"{settings.NAMESPACE}:"
    keys = {k[len(prefix):] for k in CONFIG.get() if k.startswith(prefix)} | set(settings.SETTINGS)
    got = settings.parse({key: config.get(key) for key in sorted(keys)}, stack=pulumi.get_stack())
    if "target" not in got:
        raise settings.SettingError(f"Pulumi.{pulumi.get_stack()}.yaml: rollback:target is not set; fix: "
                                    f"pulumi config set --stack {pulumi.get_stack()} rollback:target last-good")
    return {
        "target": got["target"],
        "components": got.get("components", list(COMPONENTS)),
        "allow_data_loss": got.get("allowDataLoss", False),
        "dynamic_sql": got.get("dataLoss", {}).get("dynamicSql", "refuse"),
        "deployed": got.get("deployed"),
        "allow_candidate": got.get("allowCandidate", False),
        "partial": got.get("partial"),
        "deployed_partial": got.get("deployedPartial"),
        "allowed_domains": got.get("allowedDomains"),
        "snapshot_destination": got.get("snapshotDestination", "s3"),
        "snapshot": got.get("snapshot"),
        "rds_instance": got.get("rdsInstance"),
        "jobs": got.get("jobs"),
        "vercel": got.get("vercel"),
        "locks": got.get("locks"),
        "retries": got.get("retries"),
        "cancel_blockers": got.get("cancelBlockers", False),
        "health_budget_seconds": got.get("healthBudgetSeconds"),
        "maintenance": got.get("maintenance", False),
        "maintenance_deployment": got.get("maintenanceDeployment"),
    }


def _last_outputs(stack: str) -> dict[str, Any]:
    """The stack's outputs of its last update (`pulumi stack output`), {} when none can be read."""
    exe = shutil.which("pulumi")
    if exe is None:
        return {}
    try:
        proc = subprocess.run([exe, "stack", "output", "--json", "--stack", stack], capture_output=True, text=True,
                              timeout=60, check=False)
        return json.loads(proc.stdout) if proc.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return {}


def pulumi_program(*, from_cli: bool = False, record: StackRecord | None = None) -> None:
    """Declare the release; a refused input is reported as one error line (RunError: no traceback).

    from_cli: run by `pulumi preview/up` (__main__.py), where no verb passed the deployed version: read it from
    the stack's last outputs, so ordering and candidate checks hold as under `rollback apply`.
    record: the stack's record as the verb running this program read and validated it (rollback.stacks
    .open_release_stack passes it), so a rollout reads its stack once; without one (the Pulumi CLI), it is loaded.
    """
    try:
        _declare(from_cli, record)
    except (TargetError, JobsSettingError, LockSettingError, RetrySettingError, VercelSettingError, OrderRefused,
            MissingSetting) as err:
        raise pulumi.RunError(str(err)) from None


def _declare(from_cli: bool, record: StackRecord | None) -> None:
    """Declare the release of the resolved target and export what was deployed."""
    import rollback_stacks

    s = _settings(pulumi.Config("rollback"))
    stack = pulumi.get_stack()
    if s["deployed"] is None and from_cli:
        last = _last_outputs(stack)
        if isinstance(last.get("version"), int):
            s["deployed"], s["deployed_partial"] = last["version"], last.get("partial")
    if record is None or record.name != stack:
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
        raise SettingError(f"--maintenance needs the deployment to serve meanwhile: set rollback:maintenanceDeployment "
                         f"in Pulumi.{stack}.yaml (a deployment id of the stack's Vercel project)")
    allowed = s["allowed_domains"]
    if allowed is not None and "alias" in s["components"]:
        outside = [d for d in target.domains if d not in allowed]
        if outside:
            raise SettingError(f"{version.label}: alias domain(s) {', '.join(outside)} "
                             "are not in rollback:allowedDomains")
    jobs = jobs_settings.parse(s["jobs"], stack=stack, default_backend=target.jobs_backend)
    target = replace(target, jobs_backend=jobs.backend)  # the rollout id follows the backend in use
    vercel = vercel_settings.parse(s["vercel"], stack=stack)
    locks = lock_settings.parse(s["locks"], stack=stack, cancel_blockers=s["cancel_blockers"])
    retries = retry_settings.parse(s["retries"], stack=stack)
    release = Release("release", ReleaseArgs(
        target=target, components=s["components"], deployed=deployed,
        maintenance_deployment=s["maintenance_deployment"], maintenance=s["maintenance"],
        allow_data_loss=s["allow_data_loss"], dynamic_sql=s["dynamic_sql"], stack=stack,
        snapshot_destination=s["snapshot_destination"], rds_instance_identifier=s["rds_instance"],
        snapshot=s["snapshot"],
        jobs=jobs, locks=locks, retries=retries, health_budget_seconds=s["health_budget_seconds"],
        alias_variant=vercel.alias_variant,
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
