"""The policy document's schema (pydantic): thresholds, critical errors, severity and action rules.

One model serves the shipped default and a stack's override: an override names only what it changes, so
every field but a rule's `id` is optional here; completeness is checked after merging (rollback.policy.load).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from rollback.validation_result import Severity, Strict

SignalName = Literal["service_down", "db_connection_failed", "data_corruption", "security_breach", "migration_failed",
                     "webhooks_stalled_minutes", "critical_feature_broken", "partial_degradation", "rollback_failed",
                     "single_feature_broken", "feature_flag_available", "perf_fixable", "minor_ui_issue",
                     "non_critical_bug"]
NUMBER_SIGNALS = ("webhooks_stalled_minutes",)
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MetricName = Literal["error_rate", "p95_ms", "baseline_p95_ms", "availability", "perf_degradation"]
Unit = Literal["fraction", "ms", "minutes"]
ActionName = Literal["rollback", "fix_forward", "rerun_validation", "data_fix"]
FailureTypeName = Literal["infrastructure", "application", "test_environment", "data"]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
ErrorName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=r"^[^\n\r]+$")]
Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]
SUBJECTS = ("signal", "metric", "critical_error_seen", "failure_type", "matched", "not_matched", "severity")


class Condition(Strict):
    """One test; a rule's `when` holds when all of its conditions do. Exactly one subject per condition."""

    signal: SignalName | None = Field(
        None, description="a signal of the validation result: true/false ones with `is`, numbers with above/below")
    metric: MetricName | None = Field(None, description="a metric of the validation result, with above or below")
    critical_error_seen: Literal[True] | None = Field(
        None, description="true: an error the validation saw is one of the policy's critical_errors")
    failure_type: list[FailureTypeName] | None = Field(None, min_length=1, description="the failure type is one of")
    matched: list[Name] | None = Field(None, min_length=1, description="one of these severity rules matched")
    not_matched: list[Name] | None = Field(
        None, min_length=1, description="none of these (earlier) severity rules matched")
    severity: list[Severity] | None = Field(
        None, min_length=1, description="action rules: the most severe matched severity rule is one of")
    above: Number | str | None = Field(None, description="the value is above this number or named threshold")
    below: Number | str | None = Field(None, description="the value is below this number or named threshold")
    is_: bool | None = Field(None, alias="is", description="a true/false signal: the value it must have (default true)")

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_as_numbers(cls, data: Any) -> Any:
        """`above: true` is a mistake, not 1.0."""
        if isinstance(data, dict):
            for key in ("above", "below"):
                value = data.get(key)
                if isinstance(value, bool) or (isinstance(value, str) and not NAME.match(value)):
                    raise ValueError(f"`{key}:` as a number (0.05) or a threshold name (error_rate), "
                                     f"not {value!r}")
        return data

    @model_validator(mode="after")
    def _one_subject(self) -> Condition:
        """Exactly one subject; comparisons only where they mean something."""
        given = [s for s in SUBJECTS if getattr(self, s) is not None]
        if len(given) != 1:
            raise ValueError(f"exactly one of {', '.join(SUBJECTS)} in a condition "
                             f"(got {', '.join(given) or 'none'})")
        numeric = self.metric is not None or self.signal in NUMBER_SIGNALS
        if numeric and (self.above is None) == (self.below is None):
            raise ValueError(f"exactly one of `above:` or `below:` ({self.metric or self.signal} is a number)")
        if not numeric and (self.above is not None or self.below is not None):
            raise ValueError("above/below only with a metric or a numeric signal")
        if self.is_ is not None and (numeric or self.signal is None):
            raise ValueError("`is:` only with a true/false signal")
        return self

    def subject(self) -> str:
        """The one subject this condition tests."""
        return next(s for s in SUBJECTS if getattr(self, s) is not None)


class ThresholdDoc(Strict):
    """A named number conditions compare against."""

    value: Number | None = None
    unit: Unit | None = Field(None, description="fraction (0..1, shown as %), ms or minutes")
    description: Text | None = Field(None, description="one line in the user's words")


class RuleDoc(Strict):
    """Fields every rule has; an override names an existing id and only the fields it changes."""

    id: Name = Field(description="unique within its list; cited by decisions, plans and reports")
    description: Text | None = Field(None, description="one line in the user's words")
    when: list[Condition] | None = Field(None, min_length=1, max_length=20, description="all must hold")
    enabled: bool = Field(True, description="false removes the rule (an override turning off a default rule)")
    before: Name | None = Field(None, description="a new rule in an override: insert it before this rule")


class SeverityRuleDoc(RuleDoc):
    """A classification: when its conditions hold, the incident has this severity (the most severe wins)."""

    severity: Severity | None = None
    note: Text | None = Field(None, description="a note added to the decision when the rule matches")


class ActionRuleDoc(RuleDoc):
    """What to do: the first action rule whose conditions hold decides."""

    action: ActionName | None = None
    immediate: bool | None = Field(None, description="act now, without waiting for anything else")
    default_severity: Severity | None = Field(None, description="the severity when no severity rule matched")


class OverrideDoc(Strict):
    """What an approved emergency override (--override-reason, --approver) does."""

    description: Text | None = None
    action: ActionName | None = None
    immediate: bool | None = None
    default_severity: Severity | None = None


class PolicyDocument(Strict):
    """A rollback policy document: the shipped default, or a stack's override of some of it."""

    version: Literal[1] = Field(description="the policy format version: 1")
    description: Text | None = None
    thresholds: dict[Name, ThresholdDoc] = Field(default_factory=dict, max_length=100)
    critical_errors: list[ErrorName] | None = Field(
        None, max_length=200, description="error names that mean P0 (an override replaces the list)")
    severity_rules: list[SeverityRuleDoc] = Field(default_factory=list, max_length=200)
    action_rules: list[ActionRuleDoc] = Field(default_factory=list, max_length=200)
    emergency_override: OverrideDoc | None = None
    notes: dict[ActionName, Text] = Field(default_factory=dict, description="a note added to every decision "
                                          "with this action")
