"""Decide what to do after a failed validation: the seeds' rollback policy as code.

Sources (runbooks in the shared seeds): 001 incident classification P0-P3, 002 rollback thresholds
(error rate > 5 %, p95 > 3000 ms, availability < 99 %, critical error names), 003 "When to Rollback"
matrix + flowchart, 004 validation-failure matrix (failure type -> action) and emergency override.

Rules, first match decides the action (severity is the most severe matching classification):
1. emergency override (reason + approver)           -> rollback to last-good
2. P0 signal or critical error (seed 001/002/003)   -> rollback immediately
3. error rate > 10 % (seed 003 row 4)               -> rollback
4. a seed 002 threshold breached                    -> rollback, whatever the failure type
5. failure type infrastructure (seed 004)           -> rollback to last-good
6. failure type test_environment (seed 004)         -> re-run validation
7. failure type data (seed 004)                     -> data fix + re-validation
8. application (or unclassified signals), seed 003 flowchart: P1 signal -> rollback; single feature
   broken -> feature flag if available else rollback; performance > 50 % not fixable -> rollback;
   otherwise fix forward.
Where seeds 001 and 003 disagree (performance degraded > 50 %: 001 says P1, 003 says P2) seed 003,
the rollback decision matrix, wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, model_validator

from rollback.errors import RollbackError

LAST_GOOD = "last-good"
THRESHOLDS_KEY = "rollback:thresholds"
HIGH_ERROR_RATE = 0.10
PERF_DEGRADED = 0.50
WEBHOOK_STALL_MINUTES = 15


class Action(StrEnum):
    """What to do next; each has its own exit code."""

    NONE = "none"
    ROLLBACK = "rollback"
    FIX_FORWARD = "fix_forward"
    RERUN_VALIDATION = "rerun_validation"
    DATA_FIX = "data_fix"


EXIT_CODES: dict[Action, int] = {
    Action.NONE: 0,
    Action.ROLLBACK: 3,
    Action.FIX_FORWARD: 4,
    Action.RERUN_VALIDATION: 5,
    Action.DATA_FIX: 6,
}
Severity = Literal["P0", "P1", "P2", "P3"]
FailureType = Literal["infrastructure", "application", "test_environment", "data"]


class Strict(BaseModel):
    """Unknown fields are errors (a typo must not silently weaken the policy)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Thresholds(Strict):
    """Seed 002's rollback criteria; override per stack with `rollback:thresholds` in Pulumi.<stack>.yaml."""

    error_rate: float = Field(0.05, ge=0, le=1, validation_alias=AliasChoices("error_rate", "errorRate"),
                              description="rollback when the error rate (fraction) is above this")
    p95_ms: float = Field(3000, gt=0, validation_alias=AliasChoices("p95_ms", "p95Ms", "responseTime"),
                          description="rollback when p95 response time (ms) is above this")
    availability: float = Field(0.99, ge=0, le=1, validation_alias=AliasChoices("availability"),
                                description="rollback when availability (fraction) is below this")
    critical_errors: list[str] = Field(
        default_factory=lambda: ["STRIPE_WEBHOOK_FAILED", "DATABASE_CONNECTION_LOST", "AUTH_SERVICE_DOWN"],
        validation_alias=AliasChoices("critical_errors", "criticalErrors"),
        description="error names that trigger an immediate rollback (replaces the default list)")


class FailingCheck(Strict):
    """One validation check that failed."""

    name: str = Field(min_length=1)
    message: str = ""
    component: str | None = None


class Metrics(Strict):
    """Production metrics observed during validation; fractions are 0..1 (0.05 = 5 %)."""

    error_rate: float | None = Field(None, ge=0, le=1)
    p95_ms: float | None = Field(None, ge=0)
    baseline_p95_ms: float | None = Field(None, gt=0)
    availability: float | None = Field(None, ge=0, le=1)
    perf_degradation: float | None = Field(
        None, ge=0, description="slowdown vs baseline as a fraction: 0.6 = 60 % slower, 1.0 = 2x baseline")

    def degradation(self) -> float | None:
        """perf_degradation, or derived from p95 and its baseline."""
        if self.perf_degradation is not None:
            return self.perf_degradation
        if self.p95_ms is not None and self.baseline_p95_ms:
            return max(0.0, self.p95_ms / self.baseline_p95_ms - 1)
        return None


class Signals(Strict):
    """Facts the validation established; all default to false/unknown."""

    service_down: bool = Field(False, description="API completely down / complete outage (P0)")
    db_connection_failed: bool = Field(False, description="database connection failed (P0)")
    data_corruption: bool = Field(False, description="data corruption or loss detected (P0)")
    security_breach: bool = Field(False, description="security breach (P0, seed 001)")
    migration_failed: bool = Field(False, description="database migration failure affecting production (P0)")
    webhooks_stalled_minutes: float = Field(0, ge=0, description="minutes without webhook processing (>15: P0)")
    critical_feature_broken: bool = Field(False, description="a critical feature is broken (P1, seed 003)")
    partial_degradation: bool = Field(False, description="partial service degradation (P1, seed 001)")
    rollback_failed: bool = Field(False, description="a previous (migration) rollback failed (P1, seed 001)")
    single_feature_broken: bool = Field(False, description="one non-critical feature broken (P2)")
    feature_flag_available: bool = Field(False, description="the broken feature can be disabled by a flag")
    perf_fixable: bool | None = Field(None, description="slowdown is a queue/cache issue fixable in place")
    minor_ui_issue: bool = Field(False, description="minor UI / cosmetic issue (P3)")
    non_critical_bug: bool = Field(False, description="non-critical bug (P3)")


class Override(Strict):
    """Seed 004's emergency override: who authorised it and why."""

    reason: str = Field(min_length=1)
    approver: str = Field(min_length=1)


class ValidationResult(Strict):
    """A post-deploy validation result, the input of `rollback decide --validation FILE`."""

    stack: str | None = None
    deployment_id: str | None = None
    failure_type: FailureType | None = Field(
        None, description="seed 004's classification; null when validation passed")
    failing_checks: list[FailingCheck] = Field(default_factory=list)
    metrics: Metrics = Field(default_factory=Metrics)
    critical_errors: list[str] = Field(default_factory=list, description="error names seen, e.g. AUTH_SERVICE_DOWN")
    signals: Signals = Field(default_factory=Signals)
    override: Override | None = None

    @model_validator(mode="after")
    def _classified(self) -> ValidationResult:
        """Failing checks need a failure type: seed 004's action depends on it."""
        if self.failing_checks and self.failure_type is None:
            raise ValueError("failure_type is required when failing_checks is not empty "
                             "(infrastructure, application, test_environment or data)")
        return self


class Reason(BaseModel):
    """One rule that matched, with its source in the seeds."""

    rule: str
    text: str
    severity: Severity | None = None
    source: str


class Decision(BaseModel):
    """The outcome of `rollback decide`."""

    action: Action
    severity: Severity | None
    target: str | None = None
    immediate: bool = False
    stack: str | None = None
    failure_type: FailureType | None = None
    reasons: list[Reason]
    notes: list[str] = Field(default_factory=list)
    thresholds: Thresholds
    thresholds_source: str
    override: Override | None = None

    @property
    def exit_code(self) -> int:
        """The exit code of this decision's action."""
        return EXIT_CODES[self.action]


def _pct(value: float) -> str:
    return f"{value * 100:g} %"


def classify(result: ValidationResult, th: Thresholds) -> list[Reason]:
    """Every seed condition the result matches, with its severity (seed 001/002/003)."""
    s, m = result.signals, result.metrics
    out: list[Reason] = []

    def add(rule: str, text: str, severity: Severity | None, source: str) -> None:
        out.append(Reason(rule=rule, text=text, severity=severity, source=source))

    if s.service_down:
        add("service_down", "API completely down", "P0", "seed 003 matrix row 1; seed 001 P0")
    if s.db_connection_failed:
        add("db_connection_failed", "database connection failed", "P0", "seed 003 matrix row 2")
    if s.data_corruption:
        add("data_corruption", "data corruption detected", "P0", "seed 003 matrix row 3; seed 001 P0")
    if s.security_breach:
        add("security_breach", "security breach", "P0", "seed 001 P0")
    if s.migration_failed:
        add("migration_failed", "database migration failure affecting production", "P0", "seed 001 P0")
    if s.webhooks_stalled_minutes > WEBHOOK_STALL_MINUTES:
        add("webhooks_stalled", f"no webhook processing for {s.webhooks_stalled_minutes:g} min (> 15)",
            "P0", "seed 001 P0")
    critical = sorted(set(result.critical_errors) & set(th.critical_errors))
    if critical:
        add("critical_errors", f"critical errors: {', '.join(critical)}", "P0", "seed 002 criticalErrors")
    if m.error_rate is not None and m.error_rate > HIGH_ERROR_RATE:
        add("error_rate_high", f"error rate {_pct(m.error_rate)} > 10 %", "P1", "seed 003 matrix row 4; seed 001 P1")
    elif m.error_rate is not None and m.error_rate > th.error_rate:
        add("error_rate", f"error rate {_pct(m.error_rate)} > threshold {_pct(th.error_rate)}",
            "P1", "seed 002 errorRate; seed 003 matrix row 5")
    if m.availability is not None and m.availability < th.availability:
        add("availability", f"availability {_pct(m.availability)} < threshold {_pct(th.availability)}",
            "P1", "seed 002 availability; seed 001 P1 partial service degradation")
    if m.p95_ms is not None and m.p95_ms > th.p95_ms:
        add("p95", f"p95 {m.p95_ms:g} ms > threshold {th.p95_ms:g} ms", "P2", "seed 002 responseTime")
    if s.critical_feature_broken:
        add("critical_feature_broken", "critical feature broken", "P1", "seed 003 severity P1")
    if s.partial_degradation:
        add("partial_degradation", "partial service degradation", "P1", "seed 001 P1")
    if s.rollback_failed:
        add("rollback_failed", "a previous rollback failed", "P1", "seed 001 P1")
    deg = m.degradation()
    if deg is not None and deg > PERF_DEGRADED:
        add("perf_degraded", f"performance degraded {_pct(deg)} vs baseline (> 50 %)", "P2",
            "seed 003 matrix row 6, severity P2 (seed 001 says P1; seed 003 wins)")
    elif deg is not None and deg > 0:
        add("perf_slightly_degraded", f"performance slightly degraded ({_pct(deg)})", "P3", "seed 003 matrix row 9")
    if s.single_feature_broken:
        add("single_feature_broken", "single feature broken", "P2", "seed 003 matrix row 7; seed 001 P2")
    if s.minor_ui_issue:
        add("minor_ui_issue", "minor UI issue", "P3", "seed 003 matrix row 8; seed 001 P3 cosmetic")
    if s.non_critical_bug:
        add("non_critical_bug", "non-critical bug", "P3", "seed 001 P3")
    return out


P0_RULES = {"service_down", "db_connection_failed", "data_corruption", "security_breach", "migration_failed",
            "webhooks_stalled", "critical_errors"}
BREACH_RULES = {"error_rate", "availability", "p95"}
P1_SIGNALS = {"critical_feature_broken", "partial_degradation", "rollback_failed"}


def _severity(reasons: list[Reason], default: Severity | None) -> Severity | None:
    found = [r.severity for r in reasons if r.severity]
    return min(found) if found else default


def _action(result: ValidationResult, rules: set[str]) -> tuple[Action, Reason | None]:
    """The action for the matched rules and failure type (rules 2-8 of the module docstring)."""
    s = result.signals
    if rules & P0_RULES:
        return Action.ROLLBACK, Reason(rule="p0", text="service down or data at risk: rollback immediately",
                                       source="seed 003 flowchart; seed 002 critical errors")
    if "error_rate_high" in rules:
        return Action.ROLLBACK, Reason(rule="rollback_error_rate", text="error rate > 10 %: rollback",
                                       source="seed 003 matrix row 4 (Yes, after quick fix attempt)")
    if rules & BREACH_RULES:
        return Action.ROLLBACK, Reason(rule="thresholds_exceeded", text="rollback thresholds exceeded: rollback",
                                       source="seed 002 rollback criteria (any failure type)")
    if result.failure_type == "infrastructure":
        return Action.ROLLBACK, Reason(rule="failure_type", text="infrastructure issue: infrastructure rollback",
                                       source="seed 004 matrix row 1")
    if result.failure_type == "test_environment":
        return Action.RERUN_VALIDATION, Reason(rule="failure_type", text="test environment issue: re-run validation",
                                               source="seed 004 matrix row 3")
    if result.failure_type == "data":
        return Action.DATA_FIX, Reason(rule="failure_type", text="production data issue: data fix + re-validation",
                                       source="seed 004 matrix row 4")
    if rules & P1_SIGNALS:
        return Action.ROLLBACK, Reason(rule="p1", text="P1: rollback within 30 minutes",
                                       source="seed 003 severity table")
    if "single_feature_broken" in rules and not s.feature_flag_available:
        return Action.ROLLBACK, Reason(rule="feature_flag", text="feature cannot be disabled by a flag: rollback",
                                       source="seed 003 flowchart")
    if "perf_degraded" in rules and s.perf_fixable is False:
        return Action.ROLLBACK, Reason(rule="perf_not_fixable", text="slowdown is not a fixable queue/cache issue",
                                       source="seed 003 flowchart")
    if result.failure_type == "application" or rules:
        return Action.FIX_FORWARD, Reason(rule="failure_type", text=_fix_forward_text(rules, s),
                                          source="seed 004 matrix row 2; seed 003 flowchart")
    return Action.NONE, None


def _fix_forward_text(rules: set[str], s: Signals) -> str:
    if "single_feature_broken" in rules:
        return "disable the feature with its flag, fix forward"
    if "perf_degraded" in rules:
        return "try optimization first (queue/cache), fix forward"
    if rules & {"minor_ui_issue", "non_critical_bug"}:
        return "hot fix instead of rollback"
    if "perf_slightly_degraded" in rules:
        return "monitor and optimize"
    return "application issue within thresholds: application fix + re-validation"


def decide(result: ValidationResult, thresholds: Thresholds | None = None, *, thresholds_source: str = "defaults",
           override: Override | None = None) -> Decision:
    """Apply the seeds' policy to one validation result."""
    th = thresholds or Thresholds()
    override = override or result.override
    reasons = classify(result, th)
    rules = {r.rule for r in reasons}
    action, extra = _action(result, rules)
    if extra:
        reasons.append(extra)
    failed = bool(result.failure_type or result.failing_checks)
    default: Severity | None = None
    if result.failure_type == "test_environment":
        default = "P3"
    elif failed or action is not Action.NONE:
        default = "P2"  # seed 001 P2: validation failures
    severity = _severity(reasons, default)
    notes: list[str] = []
    if override:
        action = Action.ROLLBACK
        reasons.insert(0, Reason(rule="emergency_override", severity=None, source="seed 004 emergency override",
                                 text=f"emergency override approved by {override.approver}: {override.reason}"))
        severity = severity or "P2"
    immediate = action is Action.ROLLBACK and (severity == "P0" or override is not None)
    if "data_corruption" in rules:
        notes.append("stop all writes first (seed 003)")
    if action is Action.ROLLBACK:
        notes.append("take a safety snapshot before rolling back (seeds 001/003)")
    return Decision(action=action, severity=severity, target=LAST_GOOD if action is Action.ROLLBACK else None,
                    immediate=immediate, stack=result.stack, failure_type=result.failure_type, reasons=reasons,
                    notes=notes, thresholds=th, thresholds_source=thresholds_source, override=override)


def _loc(err: Mapping[str, Any]) -> str:
    return ".".join(str(p) for p in err["loc"]) or "(top level)"


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"field {_loc(err)}: {err['msg']}{more}"


def load_validation(path: Path) -> ValidationResult:
    """Read and validate a validation result JSON file; errors name the file, field and fix."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise RollbackError(f"{path}: no such file (pass the validation result JSON with --validation)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RollbackError(f"{path}: cannot read: {err}") from None
    except json.JSONDecodeError as err:
        raise RollbackError(f"{path}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    try:
        return ValidationResult.model_validate(raw)
    except ValidationError as err:
        raise RollbackError(f"{path}: {_first_error(err)}; see `rollback decide --schema`") from None


def load_thresholds(stack: str | None, project_dir: Path) -> tuple[Thresholds, str]:
    """Thresholds from `rollback:thresholds` in Pulumi.<stack>.yaml, else seed 002's defaults."""
    if not stack:
        return Thresholds(), "defaults (seed 002)"
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        return Thresholds(), f"defaults (seed 002; no {path.name})"
    from rollback.stacks import stack_settings

    raw = stack_settings(stack, project_dir).get("thresholds")  # read as the program reads it
    if raw is None:
        return Thresholds(), f"defaults (seed 002; no {THRESHOLDS_KEY} in {path.name})"
    try:
        return Thresholds.model_validate(raw), f"{path.name} {THRESHOLDS_KEY}"
    except ValidationError as err:
        raise RollbackError(f"{path}: {THRESHOLDS_KEY}: {_first_error(err)}") from None


def render_text(decision: Decision) -> str:
    """Human-readable decision: one headline, then the reasons."""
    head = {
        Action.NONE: "nothing to do: validation passed",
        Action.ROLLBACK: f"ROLLBACK to {decision.target}",
        Action.FIX_FORWARD: "FIX FORWARD (no rollback)",
        Action.RERUN_VALIDATION: "RE-RUN VALIDATION",
        Action.DATA_FIX: "DATA FIX + re-validation",
    }[decision.action]
    tags = [t for t in (decision.severity, "immediate" if decision.immediate else None, decision.stack) if t]
    lines = [f"decision: {head}" + (f" ({', '.join(tags)})" if tags else "")]
    lines += [f"  - {r.text}" + (f" [{r.severity}]" if r.severity else "") + f" ({r.source})" for r in decision.reasons]
    lines += [f"  note: {n}" for n in decision.notes]
    th = decision.thresholds
    lines.append(f"thresholds ({decision.thresholds_source}): error rate > {_pct(th.error_rate)}, "
                 f"p95 > {th.p95_ms:g} ms, availability < {_pct(th.availability)}")
    return "\n".join(lines)


def validation_schema() -> dict[str, Any]:
    """JSON Schema of the validation result file."""
    return ValidationResult.model_json_schema()


def run(validation: Path | None, *, stack: str | None = None, fmt: str = "text", override_reason: str | None = None,
        approver: str | None = None, schema: bool = False, project_dir: Path | None = None) -> int:
    """The `rollback decide` command: print the decision, return its exit code."""
    import typer

    if schema:
        typer.echo(json.dumps(validation_schema(), indent=2))
        return 0
    if fmt not in ("text", "json"):
        raise RollbackError(f"--format {fmt}: use text or json")
    if validation is None:
        raise RollbackError("--validation FILE is required (a validation result JSON; see --schema)")
    if bool(override_reason) != bool(approver):
        raise RollbackError("an emergency override needs both --override-reason and --approver")
    result = load_validation(validation)
    stack = stack or result.stack
    from rollback import stacks

    thresholds, source = load_thresholds(stack, project_dir or stacks.project_dir())
    override = Override(reason=override_reason, approver=approver) if override_reason and approver else None
    decision = decide(result.model_copy(update={"stack": stack}), thresholds, thresholds_source=source,
                      override=override)
    typer.echo(decision.model_dump_json(indent=2) if fmt == "json" else render_text(decision))
    return decision.exit_code
