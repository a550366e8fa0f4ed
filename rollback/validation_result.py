"""The input of `rollback decide`: a post-deploy validation result (checks, metrics, signals, critical errors)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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

    service_down: bool = Field(False, description="API completely down / complete outage")
    db_connection_failed: bool = Field(False, description="database connection failed")
    data_corruption: bool = Field(False, description="data corruption or loss detected")
    security_breach: bool = Field(False, description="security breach")
    migration_failed: bool = Field(False, description="database migration failure affecting production")
    webhooks_stalled_minutes: float = Field(0, ge=0, description="minutes without webhook processing")
    critical_feature_broken: bool = Field(False, description="a critical feature is broken")
    partial_degradation: bool = Field(False, description="partial service degradation")
    rollback_failed: bool = Field(False, description="a previous (migration) rollback failed")
    single_feature_broken: bool = Field(False, description="one non-critical feature broken")
    feature_flag_available: bool = Field(False, description="the broken feature can be disabled by a flag")
    perf_fixable: bool | None = Field(None, description="slowdown is a queue/cache issue fixable in place")
    minor_ui_issue: bool = Field(False, description="minor UI / cosmetic issue")
    non_critical_bug: bool = Field(False, description="non-critical bug")


class Override(Strict):
    """An emergency override: who authorised it and why."""

    reason: str = Field(min_length=1)
    approver: str = Field(min_length=1)


class ValidationResult(Strict):
    """A post-deploy validation result, the input of `rollback decide --validation FILE`."""

    stack: str | None = None
    deployment_id: str | None = None
    failure_type: FailureType | None = Field(
        None, description="what kind of failure validation found; null when validation passed")
    failing_checks: list[FailingCheck] = Field(default_factory=list)
    metrics: Metrics = Field(default_factory=Metrics)
    critical_errors: list[str] = Field(default_factory=list, description="error names seen, e.g. AUTH_SERVICE_DOWN")
    signals: Signals = Field(default_factory=Signals)
    override: Override | None = None

    @model_validator(mode="after")
    def _classified(self) -> ValidationResult:
        """Failing checks need a failure type: the policy's action depends on it."""
        if self.failing_checks and self.failure_type is None:
            raise ValueError("failure_type is required when failing_checks is not empty "
                             "(infrastructure, application, test_environment or data)")
        return self
