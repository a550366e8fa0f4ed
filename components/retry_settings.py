"""The stack's retry budget (`rollback:retries` in Pulumi.<stack>.yaml): how long one step may keep retrying the
transient answers of Vercel and S3 (429, 5xx, a dropped connection, a timeout) and wait for Vercel's asynchronous
rollback or promote before it stops clean, naming the endpoint, the status and the rate-limit headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.lock_settings import seconds

BUDGET_RANGE = (0.0, 1800.0)
FIELDS = ("budget",)


class RetrySettingError(ValueError):
    """rollback:retries is malformed: the message names the file, the field and the fix."""


@dataclass(frozen=True)
class RetrySettings:
    """The per-step budget. 120 s by default: Vercel's rate-limit windows reset within a minute (X-RateLimit-Reset),
    S3 asks to slow down for seconds, and an Instant Rollback or promote was always given 120 s to complete."""

    budget: float = 120.0

    def props(self) -> dict[str, Any]:
        """The provider inputs (in milliseconds: the wire format's numbers are doubles)."""
        return {"budget_ms": round(self.budget * 1000)}


def parse(raw: Any, *, stack: str) -> RetrySettings:
    """Validate rollback:retries ({budget}); absent, the default (120 s per step)."""
    where = f"Pulumi.{stack}.yaml: rollback:retries"
    if raw is None:
        return RetrySettings()
    if not isinstance(raw, dict):
        raise RetrySettingError(f"{where} must be a mapping, e.g. {{budget: 2m}}; fix: pulumi config set --stack "
                                f"{stack} --path rollback:retries.budget 2m (README: Retry budget)")
    unknown = sorted(map(str, set(raw) - set(FIELDS)))
    if unknown:
        raise RetrySettingError(f"{where}: {', '.join(unknown)} unknown (its fields: {', '.join(FIELDS)}); fix: "
                                f"pulumi config rm --stack {stack} --path rollback:retries.{unknown[0]}")
    budget = seconds(raw.get("budget", RetrySettings().budget))
    if budget is None or not BUDGET_RANGE[0] <= budget <= BUDGET_RANGE[1]:
        raise RetrySettingError(f"{where}.budget must be a duration from 0s to 30m (e.g. 90s, 2m), not "
                                f"{raw.get('budget')!r}; fix: pulumi config set --stack {stack} --path "
                                "rollback:retries.budget 2m")
    return RetrySettings(budget=budget)
