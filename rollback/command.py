"""One function per engine verb (status, plan, apply, verify, rehearse); the CLI only parses and renders."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from components.providers.retrying import PROGRESS
from rollback.errors import RollbackError
from rollback.plan import Plan, drift_from_events, order_from_events, step_from_event, steps_from_events

if TYPE_CHECKING:
    from pulumi import automation as auto

    from rollback.engine import StepError
    from rollback.report import Report
    from rollback_stacks.model import Version
    from rollback_stacks.store import StackRecord


@dataclass
class Rollout:
    """A resolved request: which stack (its record, read and validated once per rollout), which version, which
    components, with which flags."""

    record: StackRecord
    ref: str
    version: Version
    deployed: dict[str, Any]
    components: list[str] | None = None
    allow_data_loss: bool = False
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    maintenance: bool = False
    cancel_blockers: bool = False  # --cancel-blockers: terminate the sessions that keep a step from its locks
    workspace: auto.Stack | None = field(default=None, repr=False)  # the stack opened to read what is deployed

    @property
    def stack(self) -> str:
        """The stack's name."""
        return self.record.name

    def overrides(self) -> dict[str, Any]:
        """Config the program reads beyond Pulumi.<stack>.yaml: deployed version, flags, components."""
        out: dict[str, Any] = {"allowDataLoss": self.allow_data_loss, "maintenance": self.maintenance,
                               "allowCandidate": self.version.status == "candidate",
                               "cancelBlockers": self.cancel_blockers}
        if self.deployed.get("version") is not None:
            out["deployed"] = int(self.deployed["version"])
            if self.deployed.get("partial"):  # what serves now is that version with a partial rollout's parts
                out["deployedPartial"] = self.deployed["partial"]
        if self.components is not None:
            out["partial"] = self.components
        return out

    def open(self) -> auto.Stack:
        """The stack's engine workspace configured for this rollout (the one resolve opened, when there is one)."""
        from rollback.stacks import open_release_stack, release_config
        from rollback.workspace import configure

        if self.workspace is None:
            return open_release_stack(self.record, target=str(self.version.version), env=self.env,
                                      overrides=self.overrides())
        configure(self.workspace, release_config(self.record, target=str(self.version.version),
                                                 overrides=self.overrides()))
        return self.workspace

    def desired(self) -> dict[str, Any]:
        """What the target declares, for plan headers and reports."""
        v = self.version
        return {"version": v.version, "label": v.label, "status": v.status,
                "deployment_id": v.app.deployment_id if v.app else None,
                "schema_version": v.database.schema_version if v.database else None,
                "flags": dict(v.jobs.flags) if v.jobs else {}, "partial": self.components}


def deployed_outputs(record: StackRecord, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The stack outputs of the last update (empty when never deployed)."""
    return _deployed(record, env)[1]


def _deployed(record: StackRecord, env: Mapping[str, str] | None) -> tuple[auto.Stack, dict[str, Any]]:
    """The stack's workspace and the outputs of its last update."""
    from rollback.stacks import open_release_stack

    st = open_release_stack(record, target="last-good", env=env)
    return st, {k: v.value for k, v in st.outputs().items()}


def resolve(record: StackRecord, ref: str, *, components: Sequence[str] | None = None, allow_data_loss: bool = False,
            maintenance: bool = False, env: Mapping[str, str] | None = None, cancel_blockers: bool = False) -> Rollout:
    """Resolve ref against the stack's record (rollback_stacks.load, read once by the caller) and its deployed
    version; candidates only roll forward."""
    env = dict(env if env is not None else os.environ)
    opened, deployed = _deployed(record, env)
    current = deployed.get("version")
    version = record.resolve(ref, deployed=current, allow_candidate=True)
    if version.status == "candidate" and current is not None and version.version < int(current):
        good = ", ".join(f"{v.version} ({v.label})" for v in record.versions if v.status == "known-good")
        raise RollbackError(f"{ref!r} resolves to version {version.version} ({version.label}), a candidate older "
                            f"than the deployed version {current}: roll back only to known-good "
                            f"versions ({good}).")
    return Rollout(record, ref, version, deployed, list(components) if components else None, allow_data_loss, env,
                   maintenance, cancel_blockers, opened)


def plan(rollout: Rollout, stack: auto.Stack | None = None) -> Plan:
    """Preview the rollout with the engine (on `stack` when already opened): changing steps in dependency order."""
    events: list[Any] = []
    (stack or rollout.open()).preview(on_event=events.append)
    return Plan(stack=rollout.stack, target=rollout.ref, current=rollout.deployed, desired=rollout.desired(),
                steps=steps_from_events(events), order=order_from_events(events),
                protection=order_from_events(events, "protection"))


def status(stack: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Deployed version, last-good, drift, rollout lock and jobs state; changes nothing."""
    import rollback_stacks
    from rollback.lock import current_holder
    from rollback.lock_holder import holder_text
    from rollback.stacks import backend_url, open_release_stack

    env = dict(env if env is not None else os.environ)
    record = rollback_stacks.load(stack)
    if not record.versions:  # a new stack (`rollback init`): nothing recorded, so nothing was ever applied
        return {"stack": stack, "deployed": None, "kept": None, "last_good": None, "drift": [],
                "pending_operations": [], "rollout_in_progress": None, "last_update": None, "jobs_frozen": None}
    last_good = record.resolve("last-good")
    st = open_release_stack(record, target=str(last_good.version), env=env)
    deployed = {k: v.value for k, v in st.outputs().items()}
    drift: list[str] = []
    pending: list[str] = []
    frozen: bool | None = None
    last: dict[str, Any] | None = None
    if deployed:
        events: list[Any] = []
        st.preview_refresh(on_event=events.append)
        drift = drift_from_events(events)
        # an exported stack always carries its deployment (the SDK types it optional)
        checkpoint = cast("Mapping[str, Any]", st.export_stack().deployment)
        pending = [str(op.get("resource", {}).get("urn", "?")) for op in checkpoint.get("pending_operations") or []]
        frozen = jobs_frozen(checkpoint.get("resources") or [])
        updates = [h for h in st.history(page_size=5) if h.kind == "update"]
        last = {"result": updates[0].result, "started": str(updates[0].start_time)} if updates else None
    held = current_holder(backend_url(env), stack)
    from rollback import kept

    return {"stack": stack, "deployed": deployed or None, "kept": kept.counts(env),
            "last_good": {"version": last_good.version, "label": last_good.label},
            "drift": drift, "pending_operations": pending,
            "rollout_in_progress": holder_text(held) if held else None, "last_update": last,
            "jobs_frozen": frozen}


def jobs_frozen(resources: list[dict[str, Any]]) -> bool | None:
    """Whether the checkpoint's last freeze is still in effect (its token not yet released); None without jobs."""
    by_type = {r.get("type", "").rsplit(":", 1)[-1]: r.get("outputs") or {} for r in resources}
    freeze, release = by_type.get("JobFreeze"), by_type.get("JobRelease")
    if freeze is None:
        return None
    return release is None or release.get("jobs_frozen_by") != freeze.get("freeze_token")


@dataclass
class ApplyResult:
    """What apply did: the rollout it resolved, the plan it previewed, the report it wrote, and whether it succeeded."""

    rollout: Rollout
    plan: Plan
    report: Report | None
    report_dir: Path | None
    succeeded: bool
    error: str | None = None
    failed_step: str | None = None  # `name (Component)` of the step whose own message `error` carries


def apply(record: StackRecord, ref: str, *, confirm: Callable[[Plan], bool], reason: str | None,
          components: Sequence[str] | None = None, allow_data_loss: bool = False, maintenance: bool = False,
          env: Mapping[str, str] | None = None, on_step: Callable[[str, Any], None] | None = None,
          report_dir: Path | None = None, decision: dict[str, Any] | None = None,
          cancel_blockers: bool = False) -> ApplyResult:
    """Lock the stack, resolve ref against what is deployed, preview, confirm, then up with per-step timing and a
    written report. Resolving under the lock sees the state the previous rollout left (repaired if it was killed).

    record: the stack's record as rollback_stacks.load read and validated it (before the lock, so a bad record is
    refused first); the resolve, the preview's program and the update's program all use it, none reads it again."""
    from rollback.lock import recover_interrupted, rollout_lock
    from rollback.redact import Redactor
    from rollback.report import ReportRecorder, Target, Who, write_notification, write_report
    from rollback.stacks import backend_url, open_release_stack, retry_budget

    env = dict(env if env is not None else os.environ)
    report_dir = report_dir or Path(env.get("ROLLBACK_REPORT_DIR", "reports"))
    stack_name = record.name
    with rollout_lock(backend_url(env), stack_name, target=ref, reason=reason, retry_budget=retry_budget(record)):
        recover_interrupted(lambda: open_release_stack(record, target="last-good", env=env), stack_name,
                            backend_url(env))  # a killed update's leftovers
        rollout = resolve(record, ref, components=components, allow_data_loss=allow_data_loss,
                          maintenance=maintenance, env=env, cancel_blockers=cancel_blockers)
        stack = rollout.open()
        the_plan = plan(rollout, stack)
        if not the_plan.has_changes:
            return ApplyResult(rollout, the_plan, None, None, True)
        if not confirm(the_plan):
            raise RollbackError("apply cancelled: nothing was changed.")
        current = rollout.deployed.get("version")
        rec = ReportRecorder(rollout.stack, Who.from_env(reason or "", env=rollout.env), Target(
            ref=rollout.ref, from_version=None if current is None else str(current),
            to_version=str(rollout.version.version), components=rollout.components), decision=decision)
        rec.report.order = the_plan.order
        write_notification(rec.report, report_dir)
        tracker = _StepTracker(rec, on_step)
        error: str | None = None
        failed: StepError | None = None
        try:
            result = stack.up(on_event=tracker.on_event, show_secrets=False)  # we read no config from its summary
            outputs = {k: v.value for k, v in result.outputs.items()}
            if outputs.get("snapshot_reference"):
                rec.snapshot("snapshot", str(outputs["snapshot_reference"]))
        except Exception as err:  # the engine's failure: the failed step's own message, or the engine's summary
            failed = tracker.failure(str(err))
            error = Redactor(env=rollout.env).text(str(failed) if failed else _engine_error(err, tracker.diagnostics))
        report = rec.finish("failed" if error else "succeeded", error=error)
        files = write_report(report, report_dir)
        return ApplyResult(rollout, the_plan, report, files.directory, error is None, error,
                           f"{failed.name} ({failed.component})" if failed else None)


class _StepTracker:
    """Turns engine events into timed report steps (a failed one with its own message) and progress callbacks."""

    def __init__(self, rec: Any, on_step: Callable[[str, Any], None] | None) -> None:
        self.rec, self.on_step = rec, on_step
        self.open: dict[str, Any] = {}
        self.diagnostics: list[tuple[str | None, str]] = []  # (urn, message) of each error diagnostic

    def on_event(self, event: Any) -> None:
        if event.resource_pre_event is not None:
            step = step_from_event(len(self.open) + 1, event)
            if step is None:
                return
            self.open[event.resource_pre_event.metadata.urn] = self.rec.start_step(
                step.name, component=step.component, op=step.op)
            self.rec.change(step.name, step.op, component=step.component,
                            detail="; ".join(f"{k}: {a!r} → {b!r}" for k, (a, b) in step.changes.items())[:500])
            self._emit("start", step)
        elif event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            if meta.type.endswith("rollback:HealthGate") and meta.new is not None:
                for result in (meta.new.outputs or {}).get("results") or []:
                    self.rec.health(str(result.get("name")), True, f"{result.get('kind')}: {result.get('value')}")
            if meta.urn in self.open:
                waits = (meta.new.outputs or {}).get("lock_waits") if meta.new is not None else None
                if isinstance(waits, dict) and (waits.get("lock_retries") or waits.get("cancelled")):
                    self.open[meta.urn].lock_waits = waits
                outs = meta.new.outputs or {} if meta.new is not None else {}
                for key in ("kept", "restored"):  # kept values: names and counts (components.providers.keep)
                    if outs.get(key) and isinstance(outs[key], list):
                        setattr(self.open[meta.urn], key, list(outs[key]))
                retries = outs.get("retries")
                if isinstance(retries, dict):
                    self.open[meta.urn].retries = retries
                ran = ((meta.new.outputs or {}).get("plan") or {}).get("generated") if meta.new is not None else None
                if isinstance(ran, dict) and ran.get("verified"):
                    self.open[meta.urn].sql = [str(s.get("sql")) for s in ran.get("statements") or []]
                self.rec.end_step(self.open[meta.urn])
                self._emit("done", self.open[meta.urn])
        elif event.res_op_failed_event is not None:
            urn = event.res_op_failed_event.metadata.urn
            if urn in self.open:
                self.rec.end_step(self.open[urn], "failed")
                self._emit("failed", self.open[urn])
        elif event.diagnostic_event is not None and PROGRESS in event.diagnostic_event.message and \
                event.diagnostic_event.severity != "error":  # a provider's line on a long wait (its stderr)
            self._emit("progress", event.diagnostic_event.message.split(PROGRESS, 1)[1].strip())
        elif event.diagnostic_event is not None and event.diagnostic_event.severity == "error":
            diag = event.diagnostic_event
            self.diagnostics.append((diag.urn or None, diag.message.strip()))
            if diag.urn in self.open and self.open[diag.urn].error is None:
                from rollback.engine import provider_message

                self.open[diag.urn].error = provider_message(diag.message) or None

    def failure(self, diagnostics_text: str) -> StepError | None:
        """The failed step with its own message (recorded on its report step), None for a failure of no step."""
        from dataclasses import replace

        from rollback.engine import step_error

        failed = step_error(self.diagnostics, diagnostics_text)
        step = next((s for s in reversed(self.rec.report.steps) if failed and s.name == failed.name), None)
        if failed is None or step is None:
            return failed
        step.error = step.error or failed.message
        return replace(failed, component=step.component or failed.component)

    def _emit(self, what: str, step: Any) -> None:
        if self.on_step is not None:
            self.on_step(what, step)


def _engine_error(err: Exception, diagnostics: list[tuple[str | None, str]]) -> str:
    """The engine's own error lines (not the CLI's stack of wrappers), for a failure no step reported."""
    from rollback.engine import summarize_engine_error

    if diagnostics:
        return summarize_engine_error("Diagnostics:\n" + "\n".join(f"    error: {m}" for _, m in diagnostics))
    return summarize_engine_error(str(err))


def is_tty() -> bool:
    """Whether stdin is an interactive terminal (confirmation possible)."""
    return sys.stdin.isatty()


METRIC_FIELDS = {"error_rate": "error_rate", "latency_p95_ms": "p95_ms", "p95_ms": "p95_ms",
                 "availability": "availability"}


def verify(stack: str, *, failure_type: str | None = None, budget_seconds: float | None = None,
           env: Mapping[str, str] | None = None) -> tuple[list[Any], dict[str, Any]]:
    """Run the deployed version's health gate; returns the check results and a `decide` validation result."""
    import rollback_stacks

    return _verify(rollback_stacks.load(stack), failure_type=failure_type, budget_seconds=budget_seconds, env=env)


def _verify(record: StackRecord, *, failure_type: str | None = None, budget_seconds: float | None = None,
            env: Mapping[str, str] | None = None) -> tuple[list[Any], dict[str, Any]]:
    from components.providers.health import gate

    stack = record.name
    env = dict(env if env is not None else os.environ)
    deployed = deployed_outputs(record, env)
    if deployed.get("version") is None:
        raise RollbackError(f"stack {stack!r} has nothing deployed: nothing to verify.")
    version = record.find(str(deployed["version"]))
    props = version.health.model_dump()
    if budget_seconds is not None:
        props["budget_seconds"] = budget_seconds
    results, _ = gate(props)  # connection settings come from this process's environment, as in the provider
    failing = [{"name": r.name, "message": r.detail, "component": "health"} for r in results if not r.ok]
    metrics = {METRIC_FIELDS[r.name]: r.value for r in results
               if r.kind == "metric" and r.name in METRIC_FIELDS and isinstance(r.value, int | float)}
    validation = {"stack": stack, "deployment_id": deployed.get("deployment_id"), "failing_checks": failing,
                  "metrics": metrics, "failure_type": (failure_type or "application") if failing else None}
    return results, validation


def rehearse(stack: str, ref: str, *, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Drill: restore the latest snapshot into a scratch DB, bring its schema and DB objects to the target with
    the engine, and compare with a clean build of the target (fingerprint and `pg_dump --schema-only`)."""
    import functools
    import tempfile
    import uuid

    import psycopg

    import rollback_stacks
    from components.program import pulumi_program
    from components.providers.base import scalar
    from components.providers.snapshot import restore_snapshot
    from rollback.workspace import open_stack
    from rollback_stacks.consistency import migration_version, up_hashes

    rollout = resolve(rollback_stacks.load(stack), ref, env=env)
    program = functools.partial(pulumi_program, record=rollout.record)  # the program reads no record again
    reference = rollout.deployed.get("snapshot_reference")
    if not reference:
        raise RollbackError(f"stack {stack!r} has no snapshot to rehearse with: apply a release with the "
                            "`snapshot` component first.")
    db = rollout.version.database
    if db is None:
        raise RollbackError(f"{rollout.version.label} declares no database: nothing to rehearse.")
    server = rollout.env["DATABASE_URL"].rsplit("/", 1)[0]
    names = {kind: f"rehearse_{kind}_{uuid.uuid4().hex[:10]}" for kind in ("restored", "clean")}
    dsns = {kind: f"{server}/{name}" for kind, name in names.items()}
    config = {"rollback:target": str(rollout.version.version), "rollback:components": '["schema", "dbobjects"]',
              "rollback:allowDataLoss": "true", "rollback:allowCandidate": "true"}
    try:
        restore_snapshot(str(reference), dsns["restored"], create=True)
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{names["clean"]}"')
        with tempfile.TemporaryDirectory(prefix="rollback-rehearse-") as state:
            for kind, dsn in dsns.items():
                backend = Path(state) / kind
                backend.mkdir()
                open_stack(stack, program, backend_url=f"file://{backend}",
                           env={**rollout.env, "DATABASE_URL": dsn}, config=config).up()
        with psycopg.connect(dsns["restored"]) as conn:
            live = int(scalar(conn.execute("SELECT version FROM schema_migrations")))
        applied = {k: v for k, v in db.migrations.items() if (migration_version(k) or 0) <= live}
        dumps = {kind: _schema_dump(dsn, rollout.env) for kind, dsn in dsns.items()}
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    fingerprint = rollback_stacks.fingerprint(up_hashes(applied))
    return {"stack": stack, "target": rollout.version.label, "snapshot": reference, "schema_version": live,
            "fingerprint": fingerprint, "fingerprint_matches": fingerprint == db.schema_fingerprint,
            "schema_identical": dumps["restored"] == dumps["clean"],
            "difference": _first_difference(dumps["restored"], dumps["clean"])}


def _schema_dump(dsn: str, env: Mapping[str, str]) -> list[str]:
    """`pg_dump --schema-only` lines without comments and session settings."""
    import subprocess

    from components import runtime_env

    pg_env = runtime_env.libpq_env(dsn)
    out = subprocess.run([runtime_env.pg_tool("pg_dump"), "--schema-only", "--no-owner",
                          "--exclude-schema=rollback_control", "-d", pg_env["PGDATABASE"]],
                         env={**env, **pg_env}, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines()
            if line.strip() and not line.startswith(("--", "\\restrict", "\\unrestrict", "SET ", "SELECT pg_catalog"))]


def _first_difference(a: list[str], b: list[str]) -> str | None:
    """The first differing line pair, for the drill's message."""
    import difflib

    diff = [d for d in difflib.unified_diff(a, b, "restored", "clean", lineterm="", n=0) if d[:1] in "+-"]
    return "\n".join(diff[2:8]) if diff else None


def capture(stack: str, *, require_healthy: bool, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The deployed state `rollback record --from-stack` records; refuses known-good while the gate fails."""
    import rollback_stacks
    from rollback.stacks import open_release_stack

    env = dict(env if env is not None else os.environ)
    record = rollback_stacks.load(stack)
    if require_healthy:
        results, _ = _verify(record, env=env)
        failing = [f"{r.name} ({r.detail})" for r in results if not r.ok]
        if failing:
            raise RollbackError(f"not recording {stack} as known-good: health checks failing: {'; '.join(failing)}")
    st = open_release_stack(record, target="last-good", env=env)
    outputs = {k: v.value for k, v in st.outputs().items()}
    if outputs.get("version") is None:
        raise RollbackError(f"stack {stack!r} has nothing deployed: nothing to record.")
    base = record.find(str(outputs["version"]))
    return {"version": base.version, "git_sha": base.git_sha, "snapshot_reference": outputs.get("snapshot_reference"),
            "deployment_id": outputs.get("deployment_id"), "schema_version": outputs.get("schema_version"),
            "stack_version": len([h for h in st.history() if h.kind == "update"]) or None}


def capture_live(stack: str, *, root: Path | None = None) -> dict[str, Any]:
    """The running system of a stack never applied, for `rollback record --from-live`: the schema version from
    schema_migrations ($DATABASE_URL), the one deployment the stack's alias domains point at (Vercel API), and
    the postgres jobs backend's flags."""
    import psycopg

    from components import retry_settings, runtime_env
    from components.providers import vercel_api
    from components.providers.base import scalar
    from components.providers.retrying import Budget
    from components.providers.schema import read_live
    from components.target import migration_files
    from rollback.redact import redact
    from rollback.stacks import stack_settings
    from rollback_stacks import formats, store

    settings = stack_settings(stack, root.parent if root else None)
    fmt = formats.get(str(settings.get("migrationsFormat") or formats.DEFAULT))
    repo = (root or store.default_root()).resolve().parent
    mdir = repo / str(settings.get("migrationsDir") or "")
    try:
        listing = fmt.listing(migration_files(mdir, fmt.name)) if settings.get("migrationsDir") else \
            formats.Listing(fmt.name, [])
    except formats.FormatError as err:
        raise RollbackError(f"--from-live: {err}") from None
    if not os.environ.get("DATABASE_URL"):
        raise RollbackError("--from-live: DATABASE_URL is not set: point it at the stack's database")
    try:
        with psycopg.connect(runtime_env.database_url(), connect_timeout=10) as conn:
            version, problem = read_live(conn, fmt, listing)
            has_flags = scalar(conn.execute("SELECT to_regclass('rollback_control.flags')")) is not None
            flags: dict[str, Any]
            flags = dict(conn.execute("SELECT name, value FROM rollback_control.flags ORDER BY name").fetchall()) \
                if has_flags else {}
    except psycopg.Error as err:
        raise RollbackError(f"--from-live: cannot read the database at $DATABASE_URL: "
                            f"{redact(str(err).strip())[:300]}") from None
    if problem:
        raise RollbackError(f"--from-live: not recording a schema its tool's table cannot vouch for: {problem}")
    deployments: dict[str, str | None] = {}
    domains = settings.get("allowedDomains") or []
    if domains:
        vercel = settings.get("vercel")
        team = vercel.get("teamId") if isinstance(vercel, dict) else None
        try:
            budget = Budget(retry_settings.parse(settings.get("retries"), stack=stack).budget)
            for domain in domains:  # in the stack's team scope (rollback:vercel.teamId), within its retry budget
                deployments[domain] = vercel_api.current_deployment(domain, team, budget)
        except (RuntimeError, ValueError) as err:  # a refused answer, a spent budget, a bad rollback:retries
            raise RollbackError(f"--from-live: {err}") from None
    found = {d for d in deployments.values() if d}
    if len(found) > 1 or (found and None in deployments.values()):
        shown = ", ".join(f"{k} → {v or 'nothing'}" for k, v in deployments.items())
        raise RollbackError(f"--from-live: the alias domains of Pulumi.{stack}.yaml (rollback:allowedDomains) "
                            f"point at different deployments ({shown}); a version has one: point them at one "
                            "deployment, or pass --deployment-id")
    return {"schema_version": version or 0, "deployment_id": found.pop() if found else None, "flags": flags}
