"""Release: freeze -> snapshot -> schema -> DB objects -> alias -> health gate -> release, per enabled component."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.alias import DeploymentAlias, DeploymentAliasArgs
from components.base import TYPE_PREFIX
from components.dbobjects import DatabaseObjects, DatabaseObjectsArgs
from components.health import HealthGate, HealthGateArgs
from components.jobs import JobControl, JobControlArgs
from components.rollout import COMPONENTS
from components.schema import SchemaVersion, SchemaVersionArgs
from components.snapshot import DatabaseSnapshot, DatabaseSnapshotArgs
from components.target import ReleaseTarget


@dataclass(frozen=True)
class ReleaseArgs:
    """The resolved target and the stack's choices (enabled components, backends, variants, overrides)."""

    target: ReleaseTarget
    components: Sequence[str] = COMPONENTS
    allow_data_loss: bool = False
    stack: str = "local"
    snapshot_destination: str = "s3"
    rds_instance_identifier: str | None = None
    jobs_admin_url: str | None = None
    ssm_prefix: str | None = None
    health_budget_seconds: float | None = None
    alias_variant: str = "dynamic"
    dbobjects_variant: str = "dynamic"
    vercel_team_id: str | None = None


class Release(pulumi.ComponentResource):
    """One stack's release of a target; `steps` lists its components in dependency order."""

    rollout_id: str
    snapshot_reference: pulumi.Output[str | None]
    schema_version: pulumi.Output[int | None]
    jobs_frozen: pulumi.Output[bool]

    def __init__(self, name: str, args: ReleaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}Release", name, None, opts)
        unknown = sorted(set(args.components) - set(COMPONENTS))
        if unknown:
            raise ValueError(f"unknown component(s) {', '.join(unknown)}; known: {', '.join(COMPONENTS)}")
        t, on = args.target, set(args.components)
        self.rollout_id = t.rollout_id(list(on))
        self.steps: list[pulumi.Resource] = []
        after: list[pulumi.Resource] = []
        frozen_by: pulumi.Input[str] | None = None
        jobs: JobControl | None = None

        def opts_after() -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=list(after))

        if "jobs" in on:
            jobs = JobControl(f"{name}-jobs", JobControlArgs(
                backend=t.jobs_backend, rollout_id=self.rollout_id, flags=t.flags, admin_url=args.jobs_admin_url,
                ssm_prefix=args.ssm_prefix or f"/rollback/{args.stack}", vercel_project_id=t.project,
                vercel_team_id=args.vercel_team_id), pulumi.ResourceOptions(parent=self))
            self.steps.append(jobs)
            after, frozen_by = [jobs.freeze_step], jobs.frozen_by  # not the component: its release comes last
        self.snapshot_reference = pulumi.Output.from_input(None)
        if "snapshot" in on:
            snap = DatabaseSnapshot(f"{name}-snapshot", DatabaseSnapshotArgs(
                backend=t.snapshot_backend, db_rollout=t.db_rollout(), destination=args.snapshot_destination,
                prefix=args.stack, rds_instance_identifier=args.rds_instance_identifier, frozen_by=frozen_by),
                opts_after())
            self.steps.append(snap)
            after, self.snapshot_reference = [snap], snap.reference
        self.schema_version = pulumi.Output.from_input(t.schema_version)
        if "schema" in on and t.schema_version is not None:
            schema = SchemaVersion(f"{name}-schema", SchemaVersionArgs(
                target_version=t.schema_version, migrations_sql=t.migrations_sql, checksums=t.checksums,
                allow_data_loss=args.allow_data_loss, frozen_by=frozen_by), opts_after())
            self.steps.append(schema)
            after, self.schema_version = [schema], schema.version
        if "dbobjects" in on and (t.functions or t.triggers):
            objects = DatabaseObjects(f"{name}-dbobjects", DatabaseObjectsArgs(
                functions=t.functions, triggers=t.triggers, variant=args.dbobjects_variant, frozen_by=frozen_by),
                opts_after())
            self.steps.append(objects)
            after = [objects]
        if "alias" in on and t.deployment_id and t.domains:
            alias = DeploymentAlias(f"{name}-alias", DeploymentAliasArgs(
                domains=t.domains, deployment_id=t.deployment_id, variant=args.alias_variant,
                team_id=args.vercel_team_id, frozen_by=frozen_by), opts_after())
            self.steps.append(alias)
            after = [alias]
        if "health" in on:
            gate = HealthGate(f"{name}-health", HealthGateArgs(
                rollout_id=self.rollout_id, checks=t.health, deployment_id=t.deployment_id,
                budget_seconds=args.health_budget_seconds, frozen_by=frozen_by), opts_after())
            self.steps.append(gate)
            after = [gate]
        self.jobs_frozen = pulumi.Output.from_input(False)
        if jobs is not None:
            jobs.release_after(after)
            self.jobs_frozen = jobs.jobs_frozen
        self.register_outputs({"version": t.version, "label": t.label, "rollout_id": self.rollout_id,
                               "snapshot_reference": self.snapshot_reference, "schema_version": self.schema_version,
                               "jobs_frozen": self.jobs_frozen})
