"""A release target resolved from rollback_stacks: the version plus the SQL it needs, and its rollout ids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.compatibility import Range, Side
from components.rollout import COMPONENTS, digest
from rollback_stacks import downs as frozen_downs
from rollback_stacks import formats
from rollback_stacks.model import Version
from rollback_stacks.paths import safe_path
from rollback_stacks.store import StackRecord


@dataclass(frozen=True)
class ReleaseTarget:
    """Everything the Release declares, with SQL bodies read from the stack directory."""

    version: int
    label: str
    project: str | None = None
    domains: list[str] = field(default_factory=list)
    deployment_id: str | None = None
    schema_version: int | None = None
    migrations_sql: dict[str, str] = field(default_factory=dict)
    migrations_format: str = formats.DEFAULT
    preamble_sql: str | None = None
    checksums: dict[str, str] = field(default_factory=dict)
    functions: dict[str, dict[str, str]] = field(default_factory=dict)
    triggers: dict[str, dict[str, Any]] = field(default_factory=dict)
    snapshot_backend: str = "pgdump"
    jobs_backend: str = "postgres"
    flags: dict[str, Any] = field(default_factory=dict)
    health: dict[str, Any] = field(default_factory=dict)
    app_of: str = ""  # the label of the version whose app (deployment) this is
    app_accepts: Range | None = None
    objects_of: str = ""  # the label of the version whose functions and triggers these are
    objects_accept: Range | None = None
    downs: dict[str, str] = field(default_factory=dict)  # the stack's frozen downs (rollback_stacks.downs), by path

    def side(self) -> Side:
        """What this target serves, as the step ordering sees it."""
        objects = digest({"f": {k: v["sha256"] for k, v in self.functions.items()}, "t": self.triggers})
        return Side(app_of=self.app_of or self.label, deployment_id=self.deployment_id, app_accepts=self.app_accepts,
                    schema_version=self.schema_version, objects_of=self.objects_of or self.label,
                    objects=objects if self.functions or self.triggers else None, objects_accept=self.objects_accept)

    def db_state(self) -> dict[str, Any]:
        """The database part of the target (what a snapshot protects against)."""
        fns = {k: v["sha256"] for k, v in self.functions.items()}
        return {"schema": self.schema_version, "functions": fns, "triggers": self.triggers}

    def db_rollout(self) -> str:
        """Changes exactly when the target's database state changes."""
        return "db-" + digest(self.db_state())

    def rollout_id(self, components: Sequence[str]) -> str:
        """Changes exactly when an enabled component would change something (freeze/release key)."""
        enabled = [c for c in COMPONENTS if c in components]
        state: dict[str, Any] = {"components": enabled}
        if "schema" in enabled or "dbobjects" in enabled:
            state["db"] = self.db_state()
        if "alias" in enabled:
            state["app"] = {"domains": self.domains, "deployment_id": self.deployment_id}
        if "jobs" in enabled:
            state["jobs"] = {"backend": self.jobs_backend, "flags": self.flags}
        return "ro-" + digest(state)


def migration_files(directory: Path, fmt: str = formats.DEFAULT) -> dict[str, str]:
    """Every file the format reads in a directory, by relative path, with its exact text (tools hash the bytes)."""
    return {rel: path.read_bytes().decode("utf-8") for rel, path in formats.get(fmt).files(directory).items()}


def load_target(record: StackRecord, version: Version) -> ReleaseTarget:
    """Resolve a version's file references (safely, inside the stack or its shared migrations) into a ReleaseTarget."""
    db, app, jobs = version.database, version.app, version.jobs
    stack_dir = record.dir
    accepts = Range(app.requires_schema.min, app.requires_schema.max) if app and app.requires_schema else None
    checksums: dict[str, str] = {}
    for other in [*record.versions, version]:  # the target's own record wins; others cover later down files
        if other.database:
            checksums.update(other.database.migrations)
    return ReleaseTarget(
        version=version.version,
        label=version.label,
        project=app.project if app else None,
        domains=list(app.domains) if app else [],
        deployment_id=app.deployment_id if app else None,
        schema_version=db.schema_version if db else None,
        migrations_sql=migration_files(record.migrations_dir(version), db.format) if db else {},
        migrations_format=db.format if db else formats.DEFAULT,
        preamble_sql=safe_path(stack_dir, db.preamble.file).read_text() if db and db.preamble else None,
        checksums=checksums,
        functions={name: {"file": fn.file, "sha256": fn.sha256, "sql": safe_path(stack_dir, fn.file).read_text()}
                   for name, fn in (db.functions.items() if db else [])},
        triggers={name: t.model_dump() for name, t in (db.triggers.items() if db else [])},
        snapshot_backend=version.snapshot.backend,
        jobs_backend=jobs.backend if jobs else "postgres",
        flags=dict(jobs.flags) if jobs else {},
        health=version.health.model_dump(mode="json"),
        app_of=version.label,
        app_accepts=accepts,
        objects_of=version.label,
        objects_accept=accepts,  # functions and triggers are released with the app: its range is theirs
        downs=frozen_downs.texts(stack_dir) if db and db.format != formats.DEFAULT else {},
    )
