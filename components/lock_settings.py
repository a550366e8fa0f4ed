"""The stack's lock budget (`rollback:locks` in Pulumi.<stack>.yaml): how long one statement may wait for a lock,
and how long a step may keep retrying before it stops clean and names the sessions in its way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rollback_stacks.durations import seconds

__all__ = ["LockSettingError", "LockSettings", "parse", "seconds"]

TIMEOUT_RANGE = (0.01, 10.0)  # more than a few seconds and the app queues behind a waiting ALTER that long
BUDGET_RANGE = (0.0, 1800.0)


class LockSettingError(ValueError):
    """rollback:locks is malformed: the message names the file, the field and the fix."""


@dataclass(frozen=True)
class LockSettings:
    """lock_timeout per statement, the retry budget per step, and whether to cancel the sessions in the way."""

    timeout: float = 1.0
    budget: float = 30.0
    cancel_blockers: bool = False  # the operator's --cancel-blockers, for one apply; never a stack setting

    def props(self) -> dict[str, Any]:
        """The provider inputs (in milliseconds: the wire format's numbers are doubles)."""
        return {"timeout_ms": round(self.timeout * 1000), "budget_ms": round(self.budget * 1000),
                "cancel_blockers": self.cancel_blockers}


def parse(raw: Any, *, stack: str, cancel_blockers: bool = False) -> LockSettings:
    """Validate rollback:locks ({timeout, budget}); absent, the defaults (1s per statement, 30s per step)."""
    where = f"Pulumi.{stack}.yaml: rollback:locks"
    if raw is None:
        return LockSettings(cancel_blockers=cancel_blockers)
    if not isinstance(raw, dict):
        raise LockSettingError(f"{where} must be a mapping, e.g. {{timeout: 1s, budget: 30s}} (README: Lock budget)")
    unknown = sorted(set(raw) - {"timeout", "budget"})
    if unknown:
        raise LockSettingError(f"{where}: {', '.join(unknown)} unknown (its fields: timeout, budget)")
    default = LockSettings()
    timeout = seconds(raw.get("timeout", default.timeout))
    if timeout is None or not TIMEOUT_RANGE[0] <= timeout <= TIMEOUT_RANGE[1]:
        raise LockSettingError(f"{where}.timeout must be a duration from 10ms to 10s (e.g. 500ms, 2s), "
                               f"not {raw.get('timeout')!r}")
    budget = seconds(raw.get("budget", default.budget))
    if budget is None or not BUDGET_RANGE[0] <= budget <= BUDGET_RANGE[1]:
        raise LockSettingError(f"{where}.budget must be a duration from 0s to 30m (e.g. 30s, 5m), "
                               f"not {raw.get('budget')!r}")
    return LockSettings(timeout=timeout, budget=budget, cancel_blockers=cancel_blockers)
