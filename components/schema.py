"""SchemaVersion: the database schema at the target's golang-migrate version (up or down)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.base import TYPE_PREFIX, child_opts, component_deps
from components.lock_settings import LockSettings
from components.providers.schema import SchemaMigration


@dataclass(frozen=True)
class SchemaVersionArgs:
    """Target version, every migration file's SQL by name, recorded sha256s, and the data-loss override."""

    target_version: int
    migrations_sql: dict[str, str]
    format: str = "golang-migrate"
    preamble: str | None = None
    checksums: dict[str, str] = field(default_factory=dict)
    allow_data_loss: bool = False
    dynamic_sql: str = "refuse"  # `allow`: dynamic SQL (DO, EXECUTE, CALL, SELECT f()) is not refused as data loss
    locks: LockSettings = field(default_factory=LockSettings)
    frozen_by: pulumi.Input[str] | None = None
    downs: dict[str, str] = field(default_factory=dict)  # frozen downs of an up-only history, by stack path
    rollout: str = ""  # the rollout's id: what values kept aside (or put back) are tagged with
    from_version: str | None = None  # the label of the version deployed now, where kept values come from


class SchemaVersion(pulumi.ComponentResource):
    """Runs the migrations between the live version and the target; preview shows from -> to and the files."""

    version: pulumi.Output[int]

    def __init__(self, name: str, args: SchemaVersionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}SchemaVersion", name, None, opts)
        step = SchemaMigration(
            f"{name}-migrate", {"target_version": args.target_version, "sql": args.migrations_sql,
                                **({"format": args.format, "preamble": args.preamble}
                                   if args.format != "golang-migrate" else {}),
                                **({"downs": args.downs} if args.downs else {}),
                                **({"dynamic_sql": "allow"} if args.dynamic_sql == "allow" else {}),
                                "checksums": args.checksums, "allow_data_loss": args.allow_data_loss,
                                "locks": args.locks.props(),
                                "jobs_frozen_by": args.frozen_by, "rollout": args.rollout,
                                "from_label": args.from_version}, child_opts(self, component_deps(opts)))
        self.step: pulumi.Resource = step
        self.version = step.version
        self.register_outputs({"version": self.version, "plan": step.plan, "kept": step.kept,
                               "restored": step.restored})
