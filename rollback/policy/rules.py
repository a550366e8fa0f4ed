"""The effective policy: complete rules, each with the file:line it came from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from rollback.policy.model import ActionName, Condition, Unit
from rollback.validation_result import Severity


@dataclass(frozen=True)
class Threshold:
    """A named number, its unit and where its value was set."""

    name: str
    value: float
    unit: Unit
    description: str
    origin: str


@dataclass(frozen=True)
class SeverityRule:
    """When all conditions hold, the incident is at least this severe."""

    id: str
    description: str
    severity: Severity
    when: tuple[Condition, ...]
    origin: str
    note: str | None = None


@dataclass(frozen=True)
class ActionRule:
    """When all conditions hold (and no earlier action rule did), do this."""

    id: str
    description: str
    action: ActionName
    when: tuple[Condition, ...]
    origin: str
    immediate: bool = False
    default_severity: Severity | None = None


@dataclass(frozen=True)
class OverrideRule:
    """What an approved emergency override does."""

    description: str
    action: ActionName
    immediate: bool
    default_severity: Severity
    origin: str
    id: str = "emergency_override"


@dataclass(frozen=True)
class Policy:
    """The effective policy after the default, the stack's override and rollback:thresholds."""

    thresholds: dict[str, Threshold]
    critical_errors: tuple[str, ...]
    critical_errors_origin: str
    severity_rules: tuple[SeverityRule, ...]
    action_rules: tuple[ActionRule, ...]
    emergency_override: OverrideRule
    notes: dict[str, str]
    sources: tuple[str, ...] = field(default=())

    def value(self, name: str) -> float:
        """A threshold's value."""
        return self.thresholds[name].value

    def with_thresholds(self, values: dict[str, float], critical_errors: list[str] | None, origin: str) -> Policy:
        """A copy with some threshold values (and the critical error names) set from origin."""
        thresholds = {n: replace(t, value=values[n], origin=origin) if n in values else t
                      for n, t in self.thresholds.items()}
        sources = self.sources if origin in self.sources else (*self.sources, origin)
        if critical_errors is None:
            return replace(self, thresholds=thresholds, sources=sources)
        return replace(self, thresholds=thresholds, critical_errors=tuple(critical_errors),
                       critical_errors_origin=origin, sources=sources)
