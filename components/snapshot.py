"""DatabaseSnapshot: a safety snapshot before any database change (pg_dump to S3/dir, or an RDS snapshot)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.base import TYPE_PREFIX, child_opts, component_deps
from components.lock_settings import LockSettings
from components.providers.snapshot import PgDumpSnapshot
from components.retry_settings import RetrySettings


@dataclass(frozen=True)
class DatabaseSnapshotArgs:
    """Which backend, where snapshots go, and the database rollout key that triggers a new one."""

    backend: str
    db_rollout: str
    destination: str = "s3"
    prefix: str = "snapshots"
    rds_instance_identifier: str | None = None
    locks: LockSettings = field(default_factory=LockSettings)
    retries: RetrySettings = field(default_factory=RetrySettings)
    frozen_by: pulumi.Input[str] | None = None


class DatabaseSnapshot(pulumi.ComponentResource):
    """One snapshot per change of the target's database state; its reference is an output."""

    reference: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseSnapshotArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}DatabaseSnapshot", name, None, opts)
        snap: pulumi.Resource
        if args.backend == "pgdump":
            pgdump = PgDumpSnapshot(f"{name}-pgdump", {"db_rollout": args.db_rollout, "destination": args.destination,
                                                       "prefix": args.prefix, "locks": args.locks.props(),
                                                       "retry_budget": args.retries.props(),
                                                       "jobs_frozen_by": args.frozen_by},
                                    child_opts(self, component_deps(opts)))
            self.reference, snap = pgdump.reference, pgdump
        elif args.backend == "rds":
            if not args.rds_instance_identifier:
                raise ValueError("the rds snapshot backend needs rds_instance_identifier (config rollback:rdsInstance)")
            ident = re.sub(r"[^a-zA-Z0-9-]", "-", f"{args.prefix}-{args.db_rollout}").strip("-").lower()
            # A new identifier per database rollout means a new snapshot; retain_on_delete keeps the old ones
            # when Pulumi replaces the resource (snapshots are the way back, never garbage).
            rds = aws.rds.Snapshot(f"{name}-rds", db_instance_identifier=args.rds_instance_identifier,
                                   db_snapshot_identifier=ident if ident[:1].isalpha() else f"s-{ident}",
                                   opts=child_opts(self, component_deps(opts), retain_on_delete=True,
                                                   delete_before_replace=False))
            self.reference, snap = rds.db_snapshot_arn, rds
        else:
            raise ValueError(f"snapshot backend {args.backend!r} is not pgdump or rds")
        self.step = snap
        self.register_outputs({"reference": self.reference})
