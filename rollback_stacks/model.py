"""The version document: one known-good (or candidate/bad) desired state of a stack's release."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

Sha256 = Field(pattern=r"^[0-9a-f]{64}$")
Status = Literal["candidate", "known-good", "bad"]
FlagValue = bool | int | float | str


class Strict(BaseModel):
    """Unknown fields are errors; documents are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SqlFile(Strict):
    """A SQL file of the stack, by path relative to the stack directory, and its recorded sha256."""

    file: str = Field(min_length=1, max_length=255)
    sha256: str = Sha256


class SchemaRange(Strict):
    """Schema versions an app deployment works with (inclusive)."""

    min: int = Field(ge=0)
    max: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> SchemaRange:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self


class AppState(Strict):
    """The web app: which deployment the alias domains point at."""

    project: str = Field(min_length=1, max_length=100)
    domains: list[str] = Field(min_length=1)
    deployment_id: str = Field(pattern=r"^dpl_[A-Za-z0-9]+$")
    requires_schema: SchemaRange | None = None


class Trigger(Strict):
    """A trigger's desired state (enabled or disabled) on its table."""

    table: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    enabled: bool = True


MigrationFormat = Literal["golang-migrate", "drizzle", "prisma", "supabase"]


class DatabaseState(Strict):
    """Schema version over a migrations directory (golang-migrate, Drizzle, Prisma or Supabase), plus functions and
    triggers."""

    migrations_dir: str = Field(min_length=1)
    format: MigrationFormat = Field(default="golang-migrate",
                                    description="the migration tool that wrote the directory")
    preamble: SqlFile | None = Field(default=None, description="SQL creating what the history assumes before its "
                                     "first migration (platform schemas, roles), for the shadow database")
    schema_version: int = Field(ge=0, description="the newest applied migration's number (golang-migrate version, "
                                "Drizzle tag number, Prisma/Supabase timestamp)")
    schema_fingerprint: str = Sha256
    migrations: dict[str, str] = Field(default_factory=dict,
                                       description="migration file (relative to migrations_dir) -> sha256")
    functions: dict[str, SqlFile] = Field(default_factory=dict)
    triggers: dict[str, Trigger] = Field(default_factory=dict)


class SnapshotRef(Strict):
    """How safety snapshots are taken, and the snapshot of this known-good point."""

    backend: Literal["pgdump", "rds"] = "pgdump"
    reference: str | None = None


class JobsState(Strict):
    """Job control flags (workers, scheduler, notifications, caps, multipliers, feature flags)."""

    backend: Literal["postgres", "ssm", "vercel-env", "http"] = "postgres"
    flags: dict[str, FlagValue] = Field(default_factory=dict)


class HttpCheck(Strict):
    """GET url; healthy when the status matches and (optionally) the JSON body has ok: true."""

    name: str
    url: str = Field(description="may use ${ENV_VAR} placeholders, expanded at run time")
    expect_status: int = 200
    expect_json_ok: bool = True


class SqlCheck(Strict):
    """A query returning one number; healthy when it is within [min, max]."""

    name: str
    query: str
    min: float | None = None
    max: float | None = None


class MetricCheck(Strict):
    """A Prometheus-style instant query; healthy when its value is within [min, max]."""

    name: str
    query: str
    min: float | None = None
    max: float | None = None


# the boolean failure signals of `rollback decide`'s validation result (rollback/validation_result.py Signals) a
# failing watch check may raise; tests/watch/test_watch_checks.py keeps the two lists equal
SIGNALS = ("service_down", "db_connection_failed", "data_corruption", "security_breach", "migration_failed",
           "critical_feature_broken", "partial_degradation", "rollback_failed", "single_feature_broken",
           "minor_ui_issue", "non_critical_bug")
Signal = Literal["service_down", "db_connection_failed", "data_corruption", "security_breach", "migration_failed",
                 "critical_feature_broken", "partial_degradation", "rollback_failed", "single_feature_broken",
                 "minor_ui_issue", "non_critical_bug"]


class WatchCheck(Strict):
    """A number sampled at every interval of the watch window, bounded as a level or as a rate per minute.

    Argo Rollouts' analysis semantics: a sample out of bounds counts as a failure once `consecutive` samples in a
    row are out of bounds; the check fails when more than `failure_limit` failures were counted; it is
    inconclusive when more than `inconclusive_limit` samples in a row could not be measured."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    sql: str | None = Field(default=None, description="a query returning one number (DATABASE_URL)")
    metric: str | None = Field(default=None, description="a Prometheus instant query (health.prometheus_url)")
    check: str | None = Field(default=None, description="a health.sql or health.metrics check whose query to sample; "
                              "the watch samples it under this entry's bounds instead of the gate's")
    measure: Literal["value", "rate"] = Field(default="value", description="bound the value, or its change per "
                                              "minute over the trailing over_seconds")
    over_seconds: float = Field(default=60, gt=0, le=86400, description="the span a rate is measured over")
    min: float | None = None
    max: float | None = None
    consecutive: int = Field(default=1, ge=1, le=10000, description="out-of-bounds samples in a row that count "
                             "as one failure each")
    failure_limit: int = Field(default=0, ge=0, le=100000, description="failures tolerated before the check fails")
    inconclusive_limit: int = Field(default=4, ge=0, le=100000, description="unmeasurable samples in a row "
                                    "tolerated before the check is inconclusive (Argo's consecutiveErrorLimit)")
    signal: Signal | None = Field(default=None, description="the `rollback decide` signal a failure raises")

    @model_validator(mode="after")
    def _one_source_and_a_bound(self) -> WatchCheck:
        given = [k for k in ("sql", "metric", "check") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"watch check {self.name!r} needs exactly one of sql, metric or check "
                             f"(got {', '.join(given) or 'none'})")
        if self.min is None and self.max is None:
            raise ValueError(f"watch check {self.name!r} needs min or max (for a rate: rows per minute)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"watch check {self.name!r}: min ({self.min:g}) must not exceed max ({self.max:g})")
        return self


class HealthChecks(Strict):
    """Checks run after the alias moves, retried with backoff within budget_seconds; `watch` adds the checks of the
    watch window (`rollback watch`), which also samples every check above."""

    budget_seconds: float = Field(default=30, gt=0, le=3600)
    prometheus_url: str | None = None
    http: list[HttpCheck] = Field(default_factory=list)
    sql: list[SqlCheck] = Field(default_factory=list)
    metrics: list[MetricCheck] = Field(default_factory=list)
    watch: list[WatchCheck] = Field(default_factory=list)

    @model_validator(mode="after")
    def _watch_refers_to_checks(self) -> HealthChecks:
        gate = {c.name for c in self.sql} | {c.name for c in self.metrics}
        names = [c.name for c in self.http] + [c.name for c in self.sql] + [c.name for c in self.metrics]
        seen: set[str] = set()
        for w in self.watch:
            if w.check is not None and w.check not in gate:
                raise ValueError(f"watch check {w.name!r}: check {w.check!r} is not a health.sql or health.metrics "
                                 f"check (those are: {', '.join(sorted(gate)) or 'none'})")
            if (w.metric is not None or (w.check is not None and w.check in {m.name for m in self.metrics})) \
                    and not self.prometheus_url:
                raise ValueError(f"watch check {w.name!r} samples a metric: set health.prometheus_url")
            if w.name in seen or (w.name in names and w.check != w.name):
                raise ValueError(f"watch check {w.name!r}: the name is taken by another check; choose another")
            seen.add(w.name)
        return self


class WatchPass(Strict):
    """A watch window the version's health held through (`rollback watch`)."""

    at: AwareDatetime
    window_seconds: float = Field(gt=0)
    samples: int = Field(ge=1)
    report: str | None = None
    by: str | None = None


class StatusChange(Strict):
    """A recorded status change (the only edit a version document may receive)."""

    at: AwareDatetime
    previous: Status = Field(description="the status before this change")
    status: Status
    reason: str
    by: str | None = None


class PulumiRef(Strict):
    """Where in the stack's history this version was recorded from."""

    stack_version: int | None = Field(default=None, ge=1)


class PromotedFrom(Strict):
    """The version of another stack this one was promoted from."""

    stack: str = Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")
    version: int = Field(ge=1)
    label: str


RESERVED_LABELS = ("last-good", "previous")


class Version(Strict):
    """One versioned desired state of a stack."""

    version: int = Field(ge=1)
    label: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    created_at: AwareDatetime
    git_sha: str = Field(pattern=r"^[0-9a-f]{7,40}$")
    status: Status
    status_history: list[StatusChange] = Field(default_factory=list)
    app: AppState | None = None
    database: DatabaseState | None = None
    snapshot: SnapshotRef = Field(default_factory=SnapshotRef)
    jobs: JobsState | None = None
    health: HealthChecks = Field(default_factory=HealthChecks)
    pulumi: PulumiRef = Field(default_factory=PulumiRef)
    promoted_from: PromotedFrom | None = None
    watches: list[WatchPass] = Field(default_factory=list, description="watch windows passed (mutable, as status)")

    @field_validator("label")
    @classmethod
    def _label_is_not_a_ref(cls, label: str) -> str:
        if label.isdigit() or label in RESERVED_LABELS:
            raise ValueError(f"label {label!r} would read as a ref; use a name like v1.4.2")
        return label

    @model_validator(mode="after")
    def _history_ends_in_status(self) -> Version:
        if self.status_history and self.status_history[-1].status != self.status:
            raise ValueError(f"status {self.status!r} differs from the last status_history entry "
                             f"({self.status_history[-1].status!r})")
        for before, after in zip(self.status_history, self.status_history[1:], strict=False):
            if after.previous != before.status or after.at < before.at:
                raise ValueError(f"status_history entry at {after.at.isoformat()} does not follow the one before it "
                                 f"(previous must be {before.status!r}, times must not go back)")
        return self
