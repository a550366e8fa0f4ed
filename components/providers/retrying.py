"""Retries of external calls (Vercel REST, S3) within one step's budget, with tenacity: transient answers (429,
500, 502, 503, 504, a dropped connection, a timeout) are retried with jittered exponential backoff, or after the
wait the service asks for (Retry-After, X-RateLimit-Reset); a step whose budget is spent stops with one line
naming the endpoint, the last status and the header values."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import tenacity

T = TypeVar("T")
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
SHOWN_HEADERS = ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
DEFAULT_BUDGET_S = 120.0
CALL_TIMEOUT_S = 15.0  # one attempt's own limit; never more than what is left of the budget
BACKOFF = tenacity.wait_random_exponential(multiplier=0.25, max=8.0)  # full jitter: 0–0.25 s, 0–0.5 s, … 8 s
PROGRESS_EVERY_S = 10.0
LAST_ATTEMPT_S = 0.2  # what a last attempt needs at least: backoff stops this much short of the budget
PROGRESS = "progress: "  # how a provider's progress line starts (rollback apply prints it under its step)


class Transient(Exception):
    """An answer worth retrying: its endpoint, status (None: no answer) and the rate-limit headers it carried."""

    def __init__(self, endpoint: str, status: int | str | None, headers: Mapping[str, str] | None = None,
                 detail: str = "") -> None:
        self.endpoint, self.status, self.detail = endpoint, status, detail
        self.headers = {h: str(headers[h]) for h in SHOWN_HEADERS if headers and headers.get(h) is not None}
        super().__init__(self.describe())

    def describe(self) -> str:
        """`POST /v2/…: HTTP 429 (Retry-After: 1, X-RateLimit-Reset: 1767225600)`."""
        status = f"HTTP {self.status}" if isinstance(self.status, int) else (self.status or "no answer")
        shown = ", ".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.endpoint}: {status}" + (f" {self.detail}" if self.detail else "") + (
            f" ({shown})" if shown else "")

    def asked_wait(self, now: float | None = None) -> float | None:
        """The seconds the service asked us to wait (Retry-After: seconds or a date; X-RateLimit-Reset: epoch
        seconds), or None when it did not say."""
        now = time.time() if now is None else now
        after = self.headers.get("Retry-After")
        if after is not None:
            try:
                return max(0.0, float(after))
            except ValueError:
                try:
                    return max(0.0, parsedate_to_datetime(after).timestamp() - now)
                except (TypeError, ValueError):
                    pass
        reset = self.headers.get("X-RateLimit-Reset")
        if reset is not None:
            try:
                return max(0.0, float(reset) - now)
            except ValueError:
                return None
        return None


class BudgetSpent(RuntimeError):
    """The step's retry budget ran out on a transient answer (or a wait): the message says which and what to do;
    `summary` is what was spent and last seen, without the step's advice."""

    def __init__(self, summary: str, advice: str) -> None:
        self.summary = summary
        super().__init__(f"{summary}. {advice}")


@dataclass
class Budget:
    """One step's retry budget and what was spent of it: calls, retries, seconds waited, the last transient
    answer."""

    seconds: float = DEFAULT_BUDGET_S
    sleep: Callable[[float], None] = time.sleep
    started: float = field(default_factory=time.monotonic)
    calls: int = 0
    retries: int = 0
    waited: float = 0.0
    last: Transient | None = None

    @classmethod
    def of(cls, props: Mapping[str, Any] | None) -> Budget:
        """The budget a step's `retry_budget` input gives ({budget_ms}); the default when absent."""
        ms = (props or {}).get("budget_ms")
        return cls(DEFAULT_BUDGET_S if ms is None else float(ms) / 1000)

    def remaining(self) -> float:
        """Seconds left of the budget."""
        return self.seconds - (time.monotonic() - self.started)

    def timeout(self) -> float:
        """One attempt's timeout: the call's own limit, never past the budget (at least 0.1 s)."""
        return max(0.1, min(CALL_TIMEOUT_S, self.remaining()))

    def call(self, fn: Callable[[], T], before_retry: Callable[[], T | None] | None = None) -> T:
        """fn, retried while it raises Transient and the next wait fits in the budget. before_retry (for calls
        that are not idempotent): asked before each retry whether the last attempt took effect after all; its
        non-None answer is returned instead of calling again."""
        tries = 0

        def attempt() -> T:
            nonlocal tries
            if tries and before_retry is not None:
                done = before_retry()
                if done is not None:
                    return done
            tries += 1
            self.calls += 1
            try:
                return fn()
            except Transient as err:
                self.last = err
                raise

        retrying = tenacity.Retrying(retry=tenacity.retry_if_exception_type(Transient), wait=self._wait,
                                     stop=self._stop, before_sleep=self._count, sleep=self.sleep, reraise=True)
        try:
            return retrying(attempt)
        except Transient as err:
            raise self.spent(err.describe()) from None

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """The wait the service asked for; else the jittered backoff, cut short to leave a last attempt."""
        err = state.outcome.exception() if state.outcome else None
        asked = err.asked_wait() if isinstance(err, Transient) else None
        if asked is not None:
            return asked
        return min(float(BACKOFF(state)), max(0.0, self.remaining() - LAST_ATTEMPT_S))

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        """Stop when the wait would leave no time for another attempt (a wait asked for past the budget: at once)."""
        return state.upcoming_sleep > self.remaining() - LAST_ATTEMPT_S

    def _count(self, state: tenacity.RetryCallState) -> None:
        self.retries += 1
        self.waited += state.upcoming_sleep

    def pause(self, seconds: float) -> None:
        """Sleep for a poll (a wait, not a retry), counted as time waited."""
        self.sleep(seconds)
        self.waited += seconds

    def spent(self, what: str) -> BudgetSpent:
        """The clean stop: what was last seen, what was spent, and the fix."""
        return BudgetSpent(f"retry budget of {self.seconds:g}s spent ({self.calls} calls, {self.retries} retries, "
                           f"{self.waited:.1f}s waiting); last answer: {what}",
                           "Nothing after this step ran; run the apply again once the service answers (it "
                           "continues from here), or raise rollback:retries.budget")

    def progress(self, text: str) -> None:
        """A progress line on a long wait (the provider's stderr, which the engine shows as the step's output)."""
        sys.stderr.write(f"{PROGRESS}{text} ({time.monotonic() - self.started:.0f}s of the {self.seconds:g}s "
                         "budget)\n")
        sys.stderr.flush()

    def report(self) -> dict[str, Any] | None:
        """The step output the report shows: None when every call succeeded at once."""
        if not self.retries and self.last is None and not self.waited:
            return None
        return {"calls": self.calls, "retries": self.retries, "wait_seconds": round(self.waited, 2),
                "last_transient": self.last.describe() if self.last else None}


def s3_call(budget: Budget, endpoint: str, fn: Callable[[], T]) -> T:
    """An S3 request within the budget: 500/503 (SlowDown), 429, a dropped connection or a timeout are retried;
    any other error is raised as botocore raised it."""
    from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

    def attempt() -> T:
        try:
            return fn()
        except ClientError as err:
            meta = err.response.get("ResponseMetadata", {})
            status = meta.get("HTTPStatusCode")
            if status not in TRANSIENT_STATUS:
                raise
            headers = {k.title().replace("Ratelimit", "RateLimit"): v for k, v in (meta.get("HTTPHeaders") or {}
                                                                                  ).items()}
            raise Transient(endpoint, status, headers, err.response.get("Error", {}).get("Code", "")) from None
        except (ConnectionClosedError, EndpointConnectionError, ReadTimeoutError) as err:
            raise Transient(endpoint, type(err).__name__) from None

    return budget.call(attempt)
