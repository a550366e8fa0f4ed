"""Decide what to do after a failed validation by evaluating the rollback policy (rollback/policy/default.yaml,
overridden per stack): severity rules classify the incident, the first matching action rule decides.
This module holds no condition of its own: it applies the policy's rules and an approved emergency override."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from rollback.errors import RollbackError
from rollback.policy import Policy, default, effective
from rollback.policy.evaluate import RuleTrace, evaluate
from rollback.policy.inputs import shown
from rollback.policy.stack_thresholds import THRESHOLDS_KEY, Thresholds, first_error
from rollback.policy.stack_thresholds import read as read_thresholds
from rollback.validation_result import (
    EXIT_CODES,
    Action,
    FailingCheck,
    FailureType,
    Metrics,
    Override,
    Severity,
    Signals,
    ValidationResult,
)

__all__ = ["EXIT_CODES", "THRESHOLDS_KEY", "Action", "Decision", "FailingCheck", "Metrics", "Override", "Reason",
           "Signals", "Thresholds", "ValidationResult", "decide", "load_thresholds", "load_validation"]

LAST_GOOD = "last-good"


class Reason(BaseModel):
    """One rule that matched: its id, what it found, and the policy file:line it comes from."""

    rule: str
    text: str
    severity: Severity | None = None
    source: str


class AppliedThreshold(BaseModel):
    """A threshold as the decision applied it: value, unit and the policy file:line (or setting) that set it."""

    value: float
    unit: str
    source: str

    def shown(self) -> str:
        """The value in its unit."""
        return shown(self.value, self.unit)


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
    thresholds: dict[str, AppliedThreshold]
    critical_errors: list[str]
    policy: list[str] = Field(description="the policy files (and settings) the decision applied, in order")
    override: Override | None = None
    explain: list[RuleTrace] | None = Field(None, description="every rule and why it matched or not (--explain)")

    @property
    def exit_code(self) -> int:
        """The exit code of this decision's action."""
        return EXIT_CODES[self.action]


def decide(result: ValidationResult, thresholds: Thresholds | None = None, *, policy: Policy | None = None,
           override: Override | None = None) -> Decision:
    """Apply the policy (default: the shipped one, with thresholds layered on) to one validation result."""
    policy = policy or default()
    if thresholds is not None:
        policy = thresholds.apply(policy, THRESHOLDS_KEY)
    override = override or result.override
    out = evaluate(policy, result)
    reasons = [Reason(rule=t.rule, text=t.reason_text(), severity=t.severity, source=t.source)
               for t in out.severity_traces if t.matched]
    rule = out.decided
    action = Action(rule.action) if rule else Action.NONE
    if rule:
        reasons.append(Reason(rule=rule.id, text=rule.description, source=rule.origin))
    severity = out.classified or (rule.default_severity if rule else None)
    immediate = rule.immediate if rule else False
    notes = [r.note for r in out.matched if r.note]
    if override:
        o = policy.emergency_override
        action, immediate, severity = Action(o.action), o.immediate, severity or o.default_severity
        reasons.insert(0, Reason(rule=o.id, source=o.origin,
                                 text=f"emergency override approved by {override.approver}: {override.reason}"))
    if action.value in policy.notes:
        notes.append(policy.notes[action.value])
    return Decision(action=action, severity=severity, target=LAST_GOOD if action is Action.ROLLBACK else None,
                    immediate=immediate, stack=result.stack, failure_type=result.failure_type, reasons=reasons,
                    notes=notes, thresholds={n: AppliedThreshold(value=t.value, unit=t.unit, source=t.origin)
                                         for n, t in policy.thresholds.items()},
                    critical_errors=list(policy.critical_errors), policy=list(policy.sources), override=override,
                    explain=out.severity_traces + out.action_traces)


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
        raise RollbackError(f"{path}: {first_error(err)}; see `rollback decide --schema`") from None


def load_thresholds(stack: str | None, project_dir: Path) -> tuple[Thresholds, str]:
    """The stack's effective thresholds (`rollback:thresholds` layered on its policy), and where they came from."""
    overlay, source = read_thresholds(stack, project_dir)
    return overlay.filled(effective(stack, project_dir)), source


def validation_schema() -> dict[str, Any]:
    """JSON Schema of the validation result file."""
    return ValidationResult.model_json_schema()
