"""`rollback:thresholds` in Pulumi.<stack>.yaml: threshold values layered onto the stack's policy."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, ValidationError

from rollback.errors import RollbackError
from rollback.policy.rules import Policy
from rollback.validation_result import Strict

THRESHOLDS_KEY = "rollback:thresholds"


class Thresholds(Strict):
    """The thresholds a stack may set without a policy file; unset ones keep the policy's value."""

    error_rate: float | None = Field(None, ge=0, le=1, validation_alias=AliasChoices("error_rate", "errorRate"),
                                     description="rollback when the error rate (fraction) is above this")
    p95_ms: float | None = Field(None, gt=0, validation_alias=AliasChoices("p95_ms", "p95Ms", "responseTime"),
                                 description="rollback when p95 response time (ms) is above this")
    availability: float | None = Field(None, ge=0, le=1, validation_alias=AliasChoices("availability"),
                                       description="rollback when availability (fraction) is below this")
    critical_errors: list[str] | None = Field(
        None, validation_alias=AliasChoices("critical_errors", "criticalErrors"),
        description="error names that trigger an immediate rollback (replaces the policy's list)")

    def values(self) -> dict[str, float]:
        """The numbers set, by policy threshold name."""
        return {k: v for k, v in (("error_rate", self.error_rate), ("p95_ms", self.p95_ms),
                                  ("availability", self.availability)) if v is not None}

    def apply(self, policy: Policy, origin: str) -> Policy:
        """The policy with these values (and critical error names) set from origin."""
        return policy.with_thresholds(self.values(), self.critical_errors, origin)

    def filled(self, policy: Policy) -> Thresholds:
        """Every field set: unset ones from the policy."""
        return Thresholds(error_rate=policy.value("error_rate") if self.error_rate is None else self.error_rate,
                          p95_ms=policy.value("p95_ms") if self.p95_ms is None else self.p95_ms,
                          availability=policy.value("availability") if self.availability is None
                          else self.availability,
                          critical_errors=list(policy.critical_errors) if self.critical_errors is None
                          else self.critical_errors)


def first_error(exc: ValidationError) -> str:
    """The first pydantic error as `field a.b: message (and N more)`."""
    err = exc.errors()[0]
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"field {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}{more}"


def read(stack: str | None, project_dir: Path) -> tuple[Thresholds, str]:
    """`rollback:thresholds` of the stack (empty when none), and where it came from."""
    if not stack:
        return Thresholds(), "defaults (no stack)"
    path = project_dir / f"Pulumi.{stack}.yaml"
    try:
        found = path.is_file()
    except (OSError, ValueError):
        found = False
    if not found:
        return Thresholds(), f"defaults (no {path.name})"
    from rollback.stacks import stack_settings

    raw = stack_settings(stack, project_dir).get("thresholds")  # read as the program reads it
    if raw is None:
        return Thresholds(), f"defaults (no {THRESHOLDS_KEY} in {path.name})"
    try:
        return Thresholds.model_validate(raw), f"{path.name} {THRESHOLDS_KEY}"
    except ValidationError as err:
        raise RollbackError(f"{path}: {THRESHOLDS_KEY}: {first_error(err)}") from None
