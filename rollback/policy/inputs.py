"""The numbers a policy can compare: where each comes from in a validation result, its unit and its name in words."""

from __future__ import annotations

from dataclasses import dataclass

from rollback.policy.model import Unit
from rollback.validation_result import ValidationResult


@dataclass(frozen=True)
class Input:
    """One numeric input: its unit and how users call it."""

    unit: Unit
    label: str


NUMBERS: dict[str, Input] = {
    "error_rate": Input("fraction", "error rate"),
    "availability": Input("fraction", "availability"),
    "perf_degradation": Input("fraction", "slowdown vs baseline"),
    "p95_ms": Input("ms", "p95 response time"),
    "baseline_p95_ms": Input("ms", "baseline p95 response time"),
    "webhooks_stalled_minutes": Input("minutes", "time without webhook processing"),
}


def number(result: ValidationResult, name: str) -> float | None:
    """The value of a numeric input (perf_degradation derived from p95 and its baseline when not given)."""
    if name == "perf_degradation":
        return result.metrics.degradation()
    if name == "webhooks_stalled_minutes":
        return result.signals.webhooks_stalled_minutes
    value: float | None = getattr(result.metrics, name)
    return value


def shown(value: float, unit: str) -> str:
    """A value in its unit: 12 %, 3400 ms, 16 min."""
    if unit == "fraction":
        return f"{value * 100:g} %"
    return f"{value:g} ms" if unit == "ms" else f"{value:g} min"
