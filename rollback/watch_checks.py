"""The checks of a watch window and their running state: what each sample measures, whether it passes, and the
bounded aggregates (counts, extremes, a trailing span for rates, a fixed number of chart buckets) kept over hours."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollback_stacks.model import HealthChecks

if TYPE_CHECKING:
    from rollback.decide import Decision
    from rollback_stacks.model import Version

CHART_BUCKETS = 48
EXIT_PASSED, EXIT_INTERRUPTED = 0, 7


@dataclass(frozen=True)
class Probe:
    """One check sampled at every interval: where its number comes from and how it is judged."""

    name: str
    kind: str  # http, sql or metric
    source: dict[str, Any]  # the gate check's fields (url, query, expect_status, ...)
    measure: str = "value"  # value or rate (per minute)
    min: float | None = None
    max: float | None = None
    consecutive: int = 1
    failure_limit: int = 0
    inconclusive_limit: int = 4
    over: float = 60.0
    signal: str | None = None

    def bounds(self) -> str:
        """`≤ 100/min`, `≥ 0.99`, `0..5`, or `ok` for an HTTP check."""
        unit = "/min" if self.measure == "rate" else ""
        if self.kind == "http":
            return f"HTTP {self.source.get('expect_status', 200)}"
        if self.min is not None and self.max is not None:
            return f"{self.min:g}..{self.max:g}{unit}"
        return f"≤ {self.max:g}{unit}" if self.max is not None else f"≥ {self.min:g}{unit}"


def probes(health: HealthChecks) -> list[Probe]:
    """The gate's checks (each as the gate judges it, unless a watch entry samples it instead), then the watch's."""
    replaced = {w.check for w in health.watch if w.check is not None}
    out = [Probe(c.name, "http", c.model_dump()) for c in health.http]
    out += [Probe(c.name, "sql", c.model_dump(), min=c.min, max=c.max) for c in health.sql if c.name not in replaced]
    out += [Probe(c.name, "metric", c.model_dump(), min=c.min, max=c.max) for c in health.metrics
            if c.name not in replaced]
    gate = {c.name: ("sql", c.query) for c in health.sql} | {c.name: ("metric", c.query) for c in health.metrics}
    for w in health.watch:
        kind, query = (gate[w.check] if w.check is not None else
                       ("sql", w.sql) if w.sql is not None else ("metric", str(w.metric)))
        out.append(Probe(w.name, kind, {"name": w.name, "query": query}, w.measure, w.min, w.max, w.consecutive,
                         w.failure_limit, w.inconclusive_limit, w.over_seconds, w.signal))
    return out


@dataclass
class Reading:
    """One check's sample: its raw value, the measured quantity, and its state."""

    value: float | None
    measured: float | None
    state: str  # ok, out (out of bounds, not counted yet), fail (a counted failure), unmeasured, pending
    detail: str


def _out_of(probe: Probe, x: float) -> str | None:
    unit = "/min" if probe.measure == "rate" else ""
    if probe.max is not None and x > probe.max:
        return f"{x:.4g}{unit} is above the maximum {probe.max:g}{unit}"
    if probe.min is not None and x < probe.min:
        return f"{x:.4g}{unit} is below the minimum {probe.min:g}{unit}"
    return None


@dataclass
class CheckState:
    """A check's running aggregates over the window: constant memory whatever the number of samples."""

    probe: Probe
    interval: float
    window: float
    samples: int = 0
    ok: int = 0
    out: int = 0
    failures: int = 0
    unmeasured: int = 0
    run: int = 0  # out-of-bounds samples in a row
    blind: int = 0  # unmeasurable samples in a row
    low: float = math.inf
    high: float = -math.inf
    total: float = 0.0
    measured_n: int = 0
    last: float | None = None
    outcome: str = "passing"  # passing, failed, inconclusive
    why: str = ""
    trail: deque[tuple[float, float]] = field(default_factory=deque)
    chart: list[tuple[float, float] | None] = field(default_factory=lambda: [None] * CHART_BUCKETS)

    def __post_init__(self) -> None:
        span = self.probe.over if self.probe.measure == "rate" else 0.0
        self.trail = deque(maxlen=max(2, math.ceil(span / max(self.interval, 1e-3)) + 2))

    def add(self, t: float, value: float | None, ok: bool | None, detail: str) -> Reading:
        """Judge one sample taken t seconds into the window (ok: an HTTP check's own verdict)."""
        self.samples += 1
        if value is None and ok is None:
            self.unmeasured += 1
            self.blind += 1
            if self.blind > self.probe.inconclusive_limit and self.outcome == "passing":
                self.outcome, self.why = "inconclusive", (f"{self.blind} samples in a row could not be measured "
                                                          f"(limit {self.probe.inconclusive_limit}): {detail}")
            return Reading(None, None, "unmeasured", detail)
        self.blind = 0
        measured = value
        if self.probe.measure == "rate" and value is not None:
            measured = self._rate(t, value)
            if measured is None:
                return Reading(value, None, "pending", "first sample of the rate")
        bad = (detail if ok is False else None) if self.probe.kind == "http" else \
            _out_of(self.probe, measured if measured is not None else math.nan)
        if measured is not None:
            self._keep(t, measured)
        if bad is None:
            self.ok += 1
            self.run = 0
            return Reading(value, measured, "ok", detail)
        self.out += 1
        self.run += 1
        if self.run < self.probe.consecutive:
            return Reading(value, measured, "out", f"{bad} ({self.run} of {self.probe.consecutive} in a row)")
        self.failures += 1
        if self.failures > self.probe.failure_limit and self.outcome == "passing":
            what = "rate" if self.probe.measure == "rate" else "value"
            self.outcome, self.why = "failed", (f"{what} {bad}" + (f", {self.run} samples in a row"
                                                                   if self.probe.consecutive > 1 else "")
                                                + (f", {self.failures} failures (limit {self.probe.failure_limit})"
                                                   if self.probe.failure_limit else ""))
        return Reading(value, measured, "fail", bad)

    def _rate(self, t: float, value: float) -> float | None:
        """Change per minute over the trailing span (from the oldest sample still inside it)."""
        while len(self.trail) > 1 and self.trail[1][0] <= t - self.probe.over:
            self.trail.popleft()
        self.trail.append((t, value))
        t0, v0 = self.trail[0]
        return (value - v0) / (t - t0) * 60.0 if t > t0 else None

    def _keep(self, t: float, x: float) -> None:
        self.low, self.high, self.total, self.last = min(self.low, x), max(self.high, x), self.total + x, x
        self.measured_n += 1
        i = min(CHART_BUCKETS - 1, max(0, int(t / self.window * CHART_BUCKETS))) if self.window > 0 else 0
        prev = self.chart[i]
        self.chart[i] = (x, x) if prev is None else (min(prev[0], x), max(prev[1], x))

    def summary(self) -> dict[str, Any]:
        """The check's aggregates for the report."""
        seen = self.measured_n > 0
        return {"name": self.probe.name, "kind": self.probe.kind, "measure": self.probe.measure,
                "bounds": self.probe.bounds(), "outcome": self.outcome, "why": self.why, "samples": self.samples,
                "ok": self.ok, "out_of_bounds": self.out, "failures": self.failures, "unmeasured": self.unmeasured,
                "min": self.low if seen else None, "max": self.high if seen else None,
                "mean": self.total / self.measured_n if seen else None, "last": self.last,
                "failure_limit": self.probe.failure_limit, "consecutive": self.probe.consecutive,
                "inconclusive_limit": self.probe.inconclusive_limit, "signal": self.probe.signal}


BARS = "▁▂▃▄▅▆▇█"


def sparkline(state: CheckState) -> str:
    """The window as CHART_BUCKETS bars (each bucket's highest value; a gap where nothing was measured)."""
    values = [b[1] for b in state.chart if b is not None]
    bound = [x for x in (state.probe.min, state.probe.max) if x is not None]
    if not values:
        return "(no value measured)"
    lo, hi = min(values + bound), max(values + bound)
    scale: Callable[[float], str] = (lambda x: BARS[min(len(BARS) - 1, int((x - lo) / (hi - lo) * len(BARS)))]) \
        if hi > lo else (lambda _x: BARS[0])
    return "".join(" " if b is None else scale(b[1]) for b in state.chart)


@dataclass
class WatchResult:
    """How the watch ended, with its evidence."""

    outcome: str  # passed, failed, inconclusive, interrupted
    reason: str
    version: Version
    samples: int
    elapsed: float
    checks: list[dict[str, Any]]
    report_dir: Path
    states: list[CheckState] = field(default_factory=list, repr=False)
    decision: Decision | None = None
    recorded: bool = False
    exit_code: int = EXIT_PASSED
