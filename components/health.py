"""HealthGate: HTTP, SQL-invariant and metric-threshold checks after the alias moves, within a time budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.base import TYPE_PREFIX, child_opts, component_deps
from components.providers.health import HealthGateCheck


@dataclass(frozen=True)
class HealthGateArgs:
    """The checks (rollback_stacks HealthChecks as a dict) and what re-triggers the gate."""

    rollout_id: str
    checks: dict[str, Any] = field(default_factory=dict)
    deployment_id: str | None = None
    budget_seconds: float | None = None
    frozen_by: pulumi.Input[str] | None = None


class HealthGate(pulumi.ComponentResource):
    """Fails the update, naming each failing check and its value, unless all checks pass within the budget."""

    def __init__(self, name: str, args: HealthGateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}HealthGate", name, None, opts)
        checks = args.checks
        budget = args.budget_seconds if args.budget_seconds is not None else checks.get("budget_seconds", 30)
        step = HealthGateCheck(
            f"{name}-checks", {"rollout_id": args.rollout_id, "deployment_id": args.deployment_id,
                               "budget_seconds": budget, "prometheus_url": checks.get("prometheus_url"),
                               "http": checks.get("http") or [], "sql": checks.get("sql") or [],
                               "metrics": checks.get("metrics") or [], "jobs_frozen_by": args.frozen_by},
            child_opts(self, component_deps(opts)))
        self.step: pulumi.Resource = step
        self.register_outputs({"attempts": step.attempts})
