"""Release: the freeze, then the alias and database steps in compatibility order (snapshot before the database,
the health gate after the alias), then the release, per enabled component."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pulumi

from components.alias import DeploymentAlias, DeploymentAliasArgs, MaintenanceWindow, MaintenanceWindowArgs
from components.base import TYPE_PREFIX
from components.compatibility import MAINTENANCE, Order, Side, plan_order, sequence
from components.dbobjects import DatabaseObjects, DatabaseObjectsArgs
from components.health import HealthGate, HealthGateArgs
from components.jobs import JobControl, JobControlArgs
from components.jobs_settings import JobsSettings
from components.lock_settings import LockSettings
from components.retry_settings import RetrySettings
from components.rollout import COMPONENTS
from components.schema import SchemaVersion, SchemaVersionArgs
from components.snapshot import DatabaseSnapshot, DatabaseSnapshotArgs
from components.target import ReleaseTarget
from rollback_stacks.settings import SettingError


@dataclass(frozen=True)
class ReleaseArgs:
    """The resolved target, what is deployed now, and the stack's choices (components, backends, variants)."""

    target: ReleaseTarget
    components: Sequence[str] = COMPONENTS
    deployed: ReleaseTarget | None = None
    maintenance_deployment: str | None = None  # the stack's rollback:maintenanceDeployment
    maintenance: bool = False  # the operator asked for it (--maintenance): used only when no order is safe
    allow_data_loss: bool = False
    dynamic_sql: str = "refuse"  # the stack's rollback:dataLoss.dynamicSql: `allow` lets dynamic SQL run without it
    stack: str = "local"
    snapshot_destination: str = "s3"
    snapshot: str | None = None  # the stack's rollback:snapshot (full, kept, storage); None: the version's backend
    rds_instance_identifier: str | None = None
    jobs: JobsSettings | None = None  # the stack's rollback:jobs; None: the version's backend, flags only
    health_budget_seconds: float | None = None
    locks: LockSettings = field(default_factory=LockSettings)  # the stack's rollback:locks
    retries: RetrySettings = field(default_factory=RetrySettings)  # the stack's rollback:retries
    alias_variant: str = "dynamic"
    dbobjects_variant: str = "dynamic"
    vercel_team_id: str | None = None
    vercel_project_id: str | None = None  # the stack's rollback:vercel.projectId (else the version's app.project)
    production_domains: Sequence[str] = ()  # rolled back / promoted through the project, never moved in place


def production_via(deployed: ReleaseTarget | None, target: ReleaseTarget) -> str:
    """rollback when the target version is lower than the deployed one, promote otherwise; production (the step
    decides from the version it last applied) when nothing deployed is known."""
    if deployed is None:
        return "production"
    return "rollback" if target.version < deployed.version else "promote"


def changing_steps(deployed: ReleaseTarget | None, target: ReleaseTarget, enabled: Sequence[str]) -> set[str]:
    """The alias and database steps that would change something (all of them when nothing is deployed)."""
    d = deployed
    out = set()
    if "alias" in enabled and target.deployment_id and target.domains and (
            d is None or (d.deployment_id, d.domains) != (target.deployment_id, target.domains)):
        out.add("alias")
    if "schema" in enabled and target.schema_version is not None and (d is None or
                                                                      d.schema_version != target.schema_version):
        out.add("schema")
    if "dbobjects" in enabled and (target.functions or target.triggers) and (
            d is None or d.side().objects != target.side().objects):
        out.add("dbobjects")
    return out


SNAPSHOT_MODES = {"pgdump": "full", "rds": "storage"}  # a version's snapshot backend as a rollback:snapshot mode


def snapshot_mode(args: ReleaseArgs) -> str:
    """full (pg_dump of the whole database), kept (only what the steps destroy) or storage (an RDS snapshot): the
    stack's rollback:snapshot, else what the target version records."""
    return args.snapshot or SNAPSHOT_MODES.get(args.target.snapshot_backend, "full")


def protection(args: ReleaseArgs) -> dict[str, str]:
    """Which way back protects this rollout's database steps, in words for the plan."""
    mode = snapshot_mode(args)
    if "snapshot" not in args.components or not ({"schema", "dbobjects"} & set(args.components)):
        return {"snapshot": "none", "note": "no snapshot: the stack's components take none (rollback:components)"}
    if mode == "kept":
        return {"snapshot": "kept", "note": "protected by kept values (rollback:snapshot kept): the values the schema "
                "step destroys are kept aside in rollback_control, in the transaction that destroys them, and come "
                "back when their version is released again; no whole-database dump is taken, so what a step cannot "
                "keep (dynamic SQL, a sequence's position) has no way back"}
    if mode == "storage":
        return {"snapshot": "storage", "note": f"protected by an RDS snapshot of {args.rds_instance_identifier} "
                "(rollback:snapshot storage) taken before the database steps, and by kept values"}
    return {"snapshot": "full", "note": "protected by a whole-database pg_dump (rollback:snapshot full) taken before "
            "the database steps, and by kept values"}


def release_order(args: ReleaseArgs) -> Order:
    """The compatibility order of the alias and database steps for this release (raises OrderRefused)."""
    managed = "dbobjects" in args.components

    def side(t: ReleaseTarget) -> Side:
        return t.side() if managed else replace(t.side(), objects=None)

    return plan_order(side(args.deployed) if args.deployed else None, side(args.target),
                      changing_steps(args.deployed, args.target, args.components),
                      maintenance_id=args.maintenance_deployment if args.maintenance else None)


class Release(pulumi.ComponentResource):
    """One stack's release of a target; `steps` lists its components in dependency order."""

    rollout_id: str
    order: Order
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
        self.order = release_order(args)
        self.steps: list[pulumi.Resource] = []
        self.snapshot_reference = pulumi.Output.from_input(None)
        self.schema_version = pulumi.Output.from_input(t.schema_version)
        self.jobs_frozen = pulumi.Output.from_input(False)
        self._args, self._name = args, name
        self._after: list[pulumi.Resource] = []
        self._frozen_by: pulumi.Input[str] | None = None
        self._maintenance: pulumi.Input[str] | None = None
        jobs: JobControl | None = None
        steps = sequence(self.order, on, changing_steps(args.deployed, t, args.components))
        if args.maintenance_deployment and "alias" in on and MAINTENANCE not in steps:
            steps.insert(int("jobs" in on), MAINTENANCE)  # declared, inactive: its state says no window is open
        for step in steps:
            declared = getattr(self, f"_declare_{step}")()
            if declared is not None:
                self.steps.append(declared)
                self._after = [declared.freeze_step if isinstance(declared, JobControl) else declared]
                jobs = declared if isinstance(declared, JobControl) else jobs
        if jobs is not None:
            jobs.release_after(self._after)  # last: after every other step has passed
            self.jobs_frozen = jobs.jobs_frozen
        self.protection = protection(args)
        self.register_outputs({"version": t.version, "label": t.label, "rollout_id": self.rollout_id,
                               "protection": self.protection,
                               "snapshot_reference": self.snapshot_reference, "schema_version": self.schema_version,
                               "jobs_frozen": self.jobs_frozen, "order": self.order.to_dict()})

    def _opts(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(self._after))

    def _declare_jobs(self) -> JobControl:
        a, t = self._args, self._args.target
        settings = a.jobs or JobsSettings(backend=t.jobs_backend)
        jobs = JobControl(f"{self._name}-jobs", JobControlArgs(
            settings=settings, rollout_id=self.rollout_id, flags=t.flags,
            ssm_prefix=settings.prefix or f"/rollback/{a.stack}", vercel_project_id=a.vercel_project_id or t.project,
            vercel_team_id=a.vercel_team_id, locks=a.locks, retries=a.retries), pulumi.ResourceOptions(parent=self))
        self._frozen_by = jobs.frozen_by
        return jobs

    def _declare_snapshot(self) -> DatabaseSnapshot | None:
        a, t = self._args, self._args.target
        mode = snapshot_mode(a)
        if mode == "kept":
            return None  # the schema step keeps what its statements destroy (components.providers.keep)
        if mode == "storage" and not a.rds_instance_identifier:
            raise SettingError(f"Pulumi.{a.stack}.yaml: rollback:snapshot storage takes an RDS snapshot and needs "
                             f"rollback:rdsInstance; fix: pulumi config set --stack {a.stack} rollback:rdsInstance "
                             "<the DB instance identifier>, or rollback:snapshot full")
        snap = DatabaseSnapshot(f"{self._name}-snapshot", DatabaseSnapshotArgs(
            backend={"full": "pgdump", "storage": "rds"}[mode], db_rollout=t.db_rollout(),
            destination=a.snapshot_destination,
            prefix=a.stack, rds_instance_identifier=a.rds_instance_identifier, locks=a.locks, retries=a.retries,
            frozen_by=self._frozen_by),
            self._opts())
        self.snapshot_reference = snap.reference
        return snap

    def _declare_schema(self) -> SchemaVersion | None:
        a, t = self._args, self._args.target
        if t.schema_version is None:
            return None
        schema = SchemaVersion(f"{self._name}-schema", SchemaVersionArgs(
            target_version=t.schema_version, migrations_sql=t.migrations_sql, checksums=t.checksums,
            format=t.migrations_format, preamble=t.preamble_sql, downs=t.downs,
            allow_data_loss=a.allow_data_loss, dynamic_sql=a.dynamic_sql, locks=a.locks, frozen_by=self._frozen_by,
            rollout=self.rollout_id, from_version=a.deployed.label if a.deployed else None),
            self._opts())
        self.schema_version = schema.version
        return schema

    def _declare_dbobjects(self) -> DatabaseObjects | None:
        t = self._args.target
        if not (t.functions or t.triggers):
            return None
        return DatabaseObjects(f"{self._name}-dbobjects", DatabaseObjectsArgs(
            functions=t.functions, triggers=t.triggers, variant=self._args.dbobjects_variant,
            locks=self._args.locks, frozen_by=self._frozen_by), self._opts())

    def _declare_maintenance(self) -> MaintenanceWindow | None:
        a, t = self._args, self._args.target
        if not (a.maintenance_deployment and t.domains):
            return None
        window = MaintenanceWindow(f"{self._name}-maintenance", MaintenanceWindowArgs(
            domains=t.domains, deployment_id=a.maintenance_deployment, active=self.order.maintenance,
            rollout_id=self.rollout_id, frozen_by=self._frozen_by, team_id=a.vercel_team_id, retries=a.retries),
            self._opts())
        self._maintenance = window.opened if self.order.maintenance else None  # inactive: the alias ignores it
        return window

    def _declare_alias(self) -> DeploymentAlias | None:
        a, t = self._args, self._args.target
        if not (t.deployment_id and t.domains):
            return None
        return DeploymentAlias(f"{self._name}-alias", DeploymentAliasArgs(
            domains=t.domains, deployment_id=t.deployment_id, variant=a.alias_variant, team_id=a.vercel_team_id,
            frozen_by=self._frozen_by, after_maintenance=self._maintenance,
            production_domains=tuple(a.production_domains), project_id=a.vercel_project_id or t.project,
            production_via=production_via(a.deployed, t), version=t.version, retries=a.retries), self._opts())

    def _declare_health(self) -> HealthGate:
        a, t = self._args, self._args.target
        return HealthGate(f"{self._name}-health", HealthGateArgs(
            rollout_id=self.rollout_id, checks=t.health, deployment_id=t.deployment_id,
            budget_seconds=a.health_budget_seconds, frozen_by=self._frozen_by), self._opts())
