"""Apply reports: who/why, target, timed steps, changes, snapshots, health, outcome; JSON + Markdown,
notification texts (incident and rollback templates) and a post-mortem skeleton. Every written string
passes through rollback.redact.

Typical use by `rollback apply`:
    rec = ReportRecorder(stack, Who.from_env(reason), Target(ref="last-good", from_version="3", to_version="1"))
    write_notification(rec.report, report_dir)               # optional: the "initiated" text up front
    with rec.step("schema", component="schema", from_="5", to="3"):
        ...                                                  # failures mark the step failed and re-raise
    rec.snapshot("snapshot", "s3://bucket/prod-1.dump"); rec.health("api", ok=True, detail="200")
    files = write_report(rec.finish("succeeded"), report_dir)
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from rollback.redact import Redactor

Outcome = Literal["in_progress", "succeeded", "failed", "partial", "refused"]
StepStatus = Literal["running", "succeeded", "failed", "skipped"]
Severity = Literal["P0", "P1", "P2", "P3"]
UPDATE_EVERY = {"P0": "15 minutes", "P1": "30 minutes", "P2": "1 hour", "P3": "4 hours"}  # by severity
ICON = {"succeeded": "✅", "failed": "❌", "partial": "⚠️", "refused": "⛔", "in_progress": "⏳",
        "running": "⏳", "skipped": "⏭️"}


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


class Model(BaseModel):
    """Report models: keys by field name, aliases accepted."""

    model_config = ConfigDict(populate_by_name=True)


class Who(Model):
    """Who started the rollback and why (approver only for an emergency override)."""

    initiator: str
    reason: str = ""
    approver: str | None = None
    emergency_override: bool = False
    trigger: str = Field("manual", description="manual, ci, auto-rollback, ...")

    @classmethod
    def from_env(cls, reason: str = "", *, approver: str | None = None, trigger: str | None = None,
                 env: Mapping[str, str] | None = None) -> Who:
        """Initiator from ROLLBACK_INITIATOR, GITHUB_ACTOR or USER; approver from ROLLBACK_APPROVER."""
        env = os.environ if env is None else env
        initiator = env.get("ROLLBACK_INITIATOR") or env.get("GITHUB_ACTOR") or env.get("USER") or "unknown"
        approver = approver or env.get("ROLLBACK_APPROVER") or None
        trigger = trigger or env.get("ROLLBACK_TRIGGER") or ("ci" if env.get("CI") else "manual")
        return cls(initiator=initiator, reason=reason, approver=approver, emergency_override=approver is not None,
                   trigger=trigger)


class Target(Model):
    """The requested ref and the versions it moves between."""

    ref: str
    from_version: str | None = None
    to_version: str | None = None
    components: list[str] | None = Field(None, description="partial rollback: only these components")


class Step(Model):
    """One timed step of the run."""

    name: str
    component: str | None = None
    op: str | None = None
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    status: StepStatus = "running"
    started_at: datetime
    ended_at: datetime | None = None
    detail: str = ""
    error: str | None = Field(None, description="a failed step's own message (the provider's error)")
    sql: list[str] | None = Field(
        None, description="the statements a generated way back ran (an up-only history going down), in order")
    lock_waits: dict[str, Any] | None = Field(
        None, description="the lock budget at work: lock_retries, lock_wait_seconds, the blockers met "
                          "(pid, application_name, state, seconds, redacted query) and the ones --cancel-blockers "
                          "terminated (cancelled)")
    kept: list[dict[str, Any]] | None = Field(
        None, description="values the step kept aside before destroying them (components.providers.keep), each set's "
                          "id, file, kind, relation, columns, rows, from_version, schema_version: names and counts")
    restored: list[dict[str, Any]] | None = Field(
        None, description="kept sets the step put back: restored, gone (rows no longer there), written_since (rows "
                          "written since the rollback, which kept their values), state and note")
    retries: dict[str, Any] | None = Field(
        None, description="the retry budget at work on Vercel and S3: calls, retries, wait_seconds (backoff and "
                          "polls of an asynchronous rollback/promote) and last_transient (endpoint, status, headers)")

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy rejects any decorated property
    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end (None while running)."""
        return round((self.ended_at - self.started_at).total_seconds(), 3) if self.ended_at else None


class Change(Model):
    """A resource the run changed."""

    resource: str
    op: str
    component: str | None = None
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    detail: str = ""


class SnapshotRef(Model):
    """A safety snapshot taken (or used) by the run."""

    component: str
    reference: str
    taken_at: datetime | None = None


class HealthResult(Model):
    """One health check after the rollback."""

    name: str
    ok: bool
    detail: str = ""
    duration_s: float | None = None


class Report(Model):
    """Everything one apply did."""

    id: str
    stack: str
    who: Who
    target: Target
    started_at: datetime
    ended_at: datetime | None = None
    outcome: Outcome = "in_progress"
    severity: Severity | None = None
    error: str | None = None
    steps: list[Step] = Field(default_factory=list)
    changes: list[Change] = Field(default_factory=list)
    snapshots: list[SnapshotRef] = Field(default_factory=list)
    health: list[HealthResult] = Field(default_factory=list)
    # dict[Any, Any] is what the bare `dict` validated as: the same schema, spelled out for the type checker
    decision: dict[Any, Any] | None = Field(
        None, description="the `rollback decide` JSON that triggered the run, if any")
    order: dict[Any, Any] | None = Field(
        None, description="the step order the program chose and each boundary it passes")

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy rejects any decorated property
    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end of the run."""
        return round((self.ended_at - self.started_at).total_seconds(), 3) if self.ended_at else None


class ReportRecorder:
    """Builds a Report while apply runs: timed steps, changes, snapshots, health, outcome."""

    def __init__(self, stack: str, who: Who, target: Target, *, severity: Severity | None = None,
                 decision: dict[str, Any] | None = None, clock: Callable[[], datetime] = now) -> None:
        """Start the run clock (clock: a function returning aware datetimes; tests pass a fake)."""
        self._now = clock
        started = self._now()
        run_id = f"{stack}-{started:%Y%m%dT%H%M%S%fZ}"
        self.report = Report(id=run_id, stack=stack, who=who, target=target, started_at=started,
                             severity=severity, decision=decision)

    def start_step(self, name: str, *, component: str | None = None, op: str | None = None,
                   from_: str | None = None, to: str | None = None) -> Step:
        """Open a step (e.g. on an engine resource pre-event)."""
        step = Step(name=name, component=component, op=op, from_=from_, to=to, started_at=self._now())
        self.report.steps.append(step)
        return step

    def end_step(self, step: Step | str, status: StepStatus = "succeeded", detail: str = "") -> Step:
        """Close a step (by object or by name of the last open one with that name)."""
        if isinstance(step, str):
            step = next(s for s in reversed(self.report.steps) if s.name == step and s.ended_at is None)
        step.ended_at, step.status = self._now(), status
        if detail:
            step.detail = detail
        return step

    @contextmanager
    def step(self, name: str, **kw: str | None) -> Iterator[Step]:
        """Time a block as a step; an exception marks it failed (and propagates)."""
        step = self.start_step(name, **kw)
        try:
            yield step
        except BaseException as err:
            self.end_step(step, "failed", detail=step.detail or str(err))
            step.error = step.error or str(err)
            raise
        if step.ended_at is None:
            self.end_step(step, "skipped" if step.status == "skipped" else "succeeded")

    def change(self, resource: str, op: str, **kw: str | None) -> None:
        """Record a changed resource."""
        self.report.changes.append(Change.model_validate({"resource": resource, "op": op, **kw}))

    def snapshot(self, component: str, reference: str) -> None:
        """Record a snapshot reference."""
        self.report.snapshots.append(SnapshotRef(component=component, reference=reference, taken_at=self._now()))

    def health(self, name: str, ok: bool, detail: str = "", duration_s: float | None = None) -> None:
        """Record one health check result."""
        self.report.health.append(HealthResult(name=name, ok=ok, detail=detail, duration_s=duration_s))

    def finish(self, outcome: Outcome, error: str | None = None) -> Report:
        """Stop the clock; open steps are marked failed (the run ended under them)."""
        end = self._now()
        for step in self.report.steps:
            if step.ended_at is None:
                step.ended_at, step.status = end, "failed"
        self.report.ended_at, self.report.outcome, self.report.error = end, outcome, error
        return self.report


def fmt_duration(seconds: float | None) -> str:
    """1 h 2 min, 3 min 4 s, 5.2 s."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {sec} s"


def _ts(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _cell(value: object) -> str:
    return str(value if value not in (None, "") else "—").replace("|", "\\|").replace("\n", " ")


def _versions(target: Target) -> str:
    return f"{target.ref}: {target.from_version or '?'} → {target.to_version or '?'}"


HOLDS = {True: "in range", False: "OUT OF RANGE", None: "range not declared"}


def render_json(report: Report) -> str:
    """The report as indented JSON."""
    return json.dumps(report.model_dump(mode="json", by_alias=True), indent=2) + "\n"


def render_markdown(report: Report) -> str:
    """The report as Markdown: summary table, timeline, changes, snapshots, health."""
    who, t = report.who, report.target
    rows: list[tuple[str, str | None]]
    rows = [("Stack", report.stack), ("Target", _versions(t)), ("Components", ", ".join(t.components or ["all"])),
            ("Initiator", f"{who.initiator} ({who.trigger})"), ("Reason", who.reason)]
    if who.approver:
        rows.append(("Approver", f"{who.approver}" + (" — emergency override" if who.emergency_override else "")))
    rows += [("Severity", report.severity), ("Started", _ts(report.started_at)), ("Ended", _ts(report.ended_at)),
             ("Duration", fmt_duration(report.duration_s)), ("Outcome", f"{ICON[report.outcome]} {report.outcome}")]
    out = [f"# Rollback report: {report.stack} → {t.to_version or t.ref} ({report.outcome})", "",
           "| | |", "|---|---|", *(f"| {k} | {_cell(v)} |" for k, v in rows), ""]
    if report.error:
        out += ["## Error", ""]
        failed = [s for s in report.steps if s.status == "failed" and s.error]
        for s in failed:
            out += [f"Step **{_cell(s.name)}** ({_cell(s.component)}) failed:", "", f"```\n{s.error}\n```", ""]
        if not failed:  # a failure of no step (the program, the engine): its summary
            out += [f"```\n{report.error}\n```", ""]
    if report.order:
        out += ["## Order", "", str(report.order.get("note") or ""), ""]
        out += [f"- after {b.get('after')}: {b.get('serving')} ({b.get('serving_of')}) serves schema {b.get('schema')}"
                f" — {HOLDS.get(b.get('holds'), '?')}" for b in report.order.get("boundaries") or []]
        out.append("")
    out += ["## Timeline", "", "| # | Step | Component | From → To | Status | Start | End | Duration |",
            "|---|---|---|---|---|---|---|---|"]
    for i, s in enumerate(report.steps, 1):
        move = f"{s.from_ or '—'} → {s.to or '—'}" if (s.from_ or s.to) else "—"
        out.append(f"| {i} | {_cell(s.name)} | {_cell(s.component)} | {_cell(move)} | {ICON[s.status]} {s.status} | "
                   f"{_ts(s.started_at)} | {_ts(s.ended_at)} | {fmt_duration(s.duration_s)} |")
    waited = [s for s in report.steps if s.lock_waits]
    if waited:
        out += ["", "## Lock waits", ""]
        out += [_lock_line(s) for s in waited]
    keeping = [s for s in report.steps if s.kept or s.restored]
    if keeping:
        out += ["", "## Kept values", ""]
        out += [line for s in keeping for line in kept_lines(s)]
    retried = [s for s in report.steps if s.retries]
    if retried:
        out += ["", "## Retries", ""]
        out += [f"- {_cell(s.name)}: {(s.retries or {}).get('calls')} calls, {(s.retries or {}).get('retries')} "
                f"retries, {(s.retries or {}).get('wait_seconds')}s waiting; last transient answer: "
                f"{_cell(str((s.retries or {}).get('last_transient') or 'none'))}" for s in retried]
    for step in (s for s in report.steps if s.sql):
        out += ["", f"## SQL that ran: {step.name} (generated way back)", "", "```sql",
                *(f"{stmt.rstrip().rstrip(';')};" for stmt in step.sql or []), "```"]
    out += ["", "## Changes", ""]
    out += [f"- `{c.op}` {c.resource}" + (f" ({c.component})" if c.component else "")
            + (f": {c.from_ or '—'} → {c.to or '—'}" if (c.from_ or c.to) else "")
            + (f" — {c.detail}" if c.detail else "") for c in report.changes] or ["No changes."]
    out += ["", "## Snapshots", ""]
    out += [f"- {s.component}: `{s.reference}` ({_ts(s.taken_at)})" for s in report.snapshots] or ["None."]
    out += ["", "## Health", ""]
    out += [f"- {'✅' if h.ok else '❌'} {h.name}" + (f": {h.detail}" if h.detail else "")
            + (f" ({fmt_duration(h.duration_s)})" if h.duration_s is not None else "") for h in report.health]
    if not report.health:
        out.append("Not run.")
    if report.decision:
        reasons = report.decision.get("reasons") or []
        out += ["", "## Decision", "", f"`rollback decide`: **{report.decision.get('action')}**"]
        out += [f"- {r.get('text')} (rule {r.get('rule')}, {r.get('source')})" if r.get("rule") else
                f"- {r.get('text')} ({r.get('source')})" for r in reasons if isinstance(r, dict)]
        out += [f"\npolicy: {' + '.join(map(str, report.decision['policy']))}"] if report.decision.get("policy") else []
    return "\n".join(out) + "\n"


def kept_lines(step: Step) -> list[str]:
    """A step's kept and restored sets, by name and count (never a value)."""
    def what(k: dict[str, Any]) -> str:
        cols = k.get("columns")
        return f"{'columns ' + ', '.join(cols) + ' of ' if cols else 'rows of '}{k.get('relation')}"

    out = [f"- {_cell(step.name)} kept {what(k)}: {k.get('rows')} row(s) ({k.get('kind')}, {k.get('file')}; set "
           f"{k.get('id')}, from {k.get('from_version') or '?'})" for k in step.kept or []]
    out += [f"- {_cell(step.name)} restored {what(k)}: {k.get('restored', 0)} restored, {k.get('written_since', 0)} "
            f"written since kept theirs, {k.get('gone', 0)} gone (set {k.get('id')}, {k.get('state')})"
            + (f": {k['note']}" if k.get("note") else "") for k in step.restored or []]
    return out


def _lock_line(step: Step) -> str:
    """One step's lock waits: retries, seconds, the sessions in its way and the ones terminated."""
    from components.providers.locks import Blocker

    w = step.lock_waits or {}
    line = (f"- {_cell(step.name)}: {w.get('lock_retries', 0)} retries, {w.get('lock_wait_seconds', 0)}s waiting "
            "for locks")
    met = [Blocker(**b).describe() for b in w.get("blockers") or []]
    cancelled = [Blocker(**b).describe() for b in w.get("cancelled") or []]
    line += f"; blocked by {_cell('; '.join(met))}" if met else ""
    return line + (f"; terminated (--cancel-blockers): {_cell('; '.join(cancelled))}" if cancelled else "")


def notification_initiated(report: Report) -> str:
    """The 'Initiating Rollback' incident notification text."""
    sev = report.severity or "P?"
    who = report.who
    return "\n".join([
        f"🚨 [ACTION] Initiating Rollback - {report.stack} 🚨",
        "",
        f"Service: {report.stack}",
        f"Severity: {sev}",
        f"Time: {_ts(report.started_at)}",
        f"Impact: {who.reason or '[Description]'}",
        f"Target: {_versions(report.target)}",
        f"Components: {', '.join(report.target.components or ['all'])}",
        *([f"Emergency override approved by: {who.approver}"] if who.emergency_override else []),
        "",
        f"Rollback in progress. Next update in {UPDATE_EVERY.get(sev, '15 minutes')}.",
        "",
        f"On-call: {who.initiator}",
    ]) + "\n"


def notification_resolved(report: Report) -> str:
    """The 'Rollback Complete' resolution notification text (or its failure variant)."""
    ok = report.outcome == "succeeded"
    healthy = all(h.ok for h in report.health) if report.health else None
    head = "✅ [RESOLVED] Rollback Complete - Service Restored ✅" if ok else (
        f"❌ [UPDATE] Rollback {report.outcome.upper()} - {report.stack} ❌")
    status = {True: "✅ Healthy", False: "❌ Unhealthy", None: "not checked"}[healthy]
    lines = [head, "", f"Service: {report.stack}", f"Severity: {report.severity or 'P?'}",
             f"Duration: {fmt_duration(report.duration_s)}",
             f"Resolution: rolled back to {report.target.to_version or report.target.ref} "
             f"({len(report.steps)} steps, {len(report.changes)} changes)" if ok else
             f"Resolution: not resolved: {report.error or 'see the report'}",
             f"System Status: {status}", ""]
    lines += ["Service is now fully operational. Post-incident analysis will follow." if ok else
              "Escalate per the runbook; the report lists the failed step.", "", f"On-call: {report.who.initiator}"]
    return "\n".join(lines) + "\n"


def postmortem(report: Report) -> str:
    """The post-mortem template, filled from the run; the rest stays as [placeholders]."""
    t = report.target
    timeline = [f"- **{_ts(report.started_at)}**: rollback of {report.stack} initiated by {report.who.initiator}"
                + (f" ({report.who.reason})" if report.who.reason else "")]
    timeline += [f"- **{_ts(s.started_at)}**: {s.name} {s.status} after {fmt_duration(s.duration_s)}"
                 for s in report.steps]
    timeline.append(f"- **{_ts(report.ended_at)}**: rollback {report.outcome}")
    decision = report.decision or {}
    causes = [f"- {r.get('text')}" for r in decision.get("reasons", []) if isinstance(r, dict)]
    resolution = [f"- {s.name}: {s.from_ or '—'} → {s.to or '—'} ({s.status})" for s in report.steps]
    return "\n".join([
        f"# Post-Mortem: Rollback of {report.stack} to {t.to_version or t.ref}",
        "", "## Summary",
        f"- **Date**: {report.started_at:%Y-%m-%d}",
        f"- **Duration**: {fmt_duration(report.duration_s)}",
        f"- **Severity**: {report.severity or '[P0/P1/P2/P3]'}",
        f"- **Impact**: {report.who.reason or '[Description]'}",
        "", "## Timeline", *timeline,
        "", "## Root Cause", *(causes or ["[Detailed analysis of what went wrong and why]"]),
        "", "## Impact Assessment", "- **Users Affected**: [Number]", "- **Revenue Impact**: [Amount]",
        "- **Reputation Impact**: [Description]",
        "", "## Resolution", f"Rolled back {_versions(t)}: outcome {report.outcome}.", *resolution,
        "", "## Lessons Learned", "[What we learned from this incident]",
        "", "## Action Items", "- [ ] [Action item 1] - [Owner] - [Due date]",
        "- [ ] [Action item 2] - [Owner] - [Due date]",
        "", "## Prevention Measures", "[How we'll prevent this from happening again]",
    ]) + "\n"


@dataclass(frozen=True)
class ReportFiles:
    """Paths of one run's written files."""

    directory: Path
    json: Path
    markdown: Path
    initiated: Path
    resolved: Path
    postmortem: Path


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def redacted(report: Report, redactor: Redactor | None = None) -> Report:
    """A copy of report with every string passed through the redactor."""
    redactor = redactor or Redactor()
    return Report.model_validate(redactor.data(report.model_dump(mode="json", by_alias=True)))


def write_notification(report: Report, report_dir: Path, redactor: Redactor | None = None) -> Path:
    """Write the 'initiated' notification before the run starts."""
    redactor = redactor or Redactor()
    folder = Path(report_dir) / _safe(report.id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "notify-initiated.txt"
    path.write_text(redactor.text(notification_initiated(redacted(report, redactor))))
    return path


def write_report(report: Report, report_dir: Path, redactor: Redactor | None = None) -> ReportFiles:
    """Write report.json, report.md, both notifications and postmortem.md to report_dir/<run id>/."""
    redactor = redactor or Redactor()
    clean = redacted(report, redactor)
    folder = Path(report_dir) / _safe(clean.id)
    folder.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(directory=folder, json=folder / "report.json", markdown=folder / "report.md",
                        initiated=folder / "notify-initiated.txt", resolved=folder / "notify-resolved.txt",
                        postmortem=folder / "postmortem.md")
    for path, text in ((files.json, render_json(clean)), (files.markdown, render_markdown(clean)),
                       (files.initiated, notification_initiated(clean)), (files.resolved, notification_resolved(clean)),
                       (files.postmortem, postmortem(clean))):
        path.write_text(redactor.text(text))
    return files
