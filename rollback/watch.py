"""`rollback watch`: the deployed version's health sampled at an interval over a window, in this one process (no
engine run, no lock held), ending passed (the version becomes known-good), failed (a `rollback decide` decision),
inconclusive (the checks could not be measured: re-run) or interrupted (a rollout started meanwhile: nothing
recorded). Every sample is streamed to the report's samples.jsonl; memory holds running aggregates only."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlparse

from rollback.errors import RollbackError
from rollback.watch_checks import EXIT_INTERRUPTED, EXIT_PASSED, CheckState, Probe, Reading, WatchResult, probes

if TYPE_CHECKING:
    from rollback.decide import Decision
    from rollback_stacks.model import Version
    from rollback_stacks.store import StackRecord
    from rollback_stacks.watch_settings import WatchSettings

METRIC_FIELDS = {"error_rate": "error_rate", "latency_p95_ms": "p95_ms", "p95_ms": "p95_ms",
                 "availability": "availability"}

Sampler = Callable[[Probe], tuple[float | None, bool | None, str]]


def sample(probe: Probe, prometheus_url: str | None) -> tuple[float | None, bool | None, str]:
    """One measurement with the gate's own check functions: (value, an HTTP check's verdict, detail)."""
    from components.providers.health import http_check, metric_check, sql_check

    if probe.kind == "http":
        r = http_check(probe.source)
        return (float(r.value) if isinstance(r.value, int | float) else None), r.ok, r.detail
    r = sql_check(probe.source) if probe.kind == "sql" else metric_check(probe.source, prometheus_url)
    return (float(r.value) if isinstance(r.value, int | float) else None), None, r.detail


def state_stamp(backend_url: str, stack: str) -> tuple[Any, ...] | None:
    """What changes when an update writes the stack's checkpoint (file:// mtime and size, s3:// ETag); None when the
    backend cannot say."""
    parsed = urlparse(backend_url)
    if parsed.scheme == "file":
        files = sorted(Path(parsed.path).glob(f".pulumi/stacks/*/{stack}.json*"))
        return tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files
                     if ".bak" not in f.name and not f.name.endswith(".attrs"))
    if parsed.scheme == "s3":
        from rollback.s3url import open_s3

        loc = open_s3(backend_url)
        pages = loc.client.get_paginator("list_objects_v2").paginate(Bucket=loc.bucket,
                                                                     Prefix=loc.key(".pulumi/stacks/"))
        return tuple(sorted((o["Key"], o.get("ETag")) for page in pages for o in page.get("Contents", [])
                            if o["Key"].rsplit("/", 1)[-1] in (f"{stack}.json", f"{stack}.json.gz")))
    return None


def interruption(backend_url: str, stack: str, stamp: tuple[Any, ...] | None) -> str | None:
    """Why the watch must end now: a rollout holds the stack's lock, an engine update runs, or the state changed."""
    from rollback.lock import current_holder, engine_locks
    from rollback.lock_holder import holder_text

    held = current_holder(backend_url, stack)
    if held:
        return f"a rollout started: {holder_text(held)}"
    running = engine_locks(backend_url, stack)
    if running:
        return f"an update of the stack started ({running[0].describe()})"
    if stamp is not None and state_stamp(backend_url, stack) != stamp:
        return "the stack's state changed (an update ran)"
    return None


@dataclass
class _Stop:
    """A signal received while watching (SIGTERM from a CI cancel, SIGINT from a terminal)."""

    name: str | None = None

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.name = signal.Signals(signum).name


@contextmanager
def _signals_caught() -> Iterator[_Stop]:
    stop = _Stop()
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@dataclass
class Watch:
    """One watch of a stack's deployed version (the CLI's `rollback watch`, and `rollback apply --watch`)."""

    record: StackRecord
    settings: WatchSettings
    report_dir: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    failure_type: str = "application"
    on_sample: Callable[[int, float, list[tuple[CheckState, Reading]]], None] | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    sampler: Sampler | None = None

    def run(self) -> WatchResult:
        """Resolve what is deployed (once, before watching), sample until the window ends or a check decides,
        then record, decide or report the interruption."""
        from rollback.command import deployed_outputs
        from rollback.stacks import backend_url

        backend = backend_url(self.env)
        deployed = deployed_outputs(self.record, self.env)
        stamp = state_stamp(backend, self.record.name)
        if deployed.get("version") is None:
            raise RollbackError(f"stack {self.record.name!r} has nothing deployed: nothing to watch.")
        version = self.record.find(str(deployed["version"]))
        if version.status == "bad":
            raise RollbackError(f"{self.record.name}: the deployed version {version.version} ({version.label}) is "
                                "marked bad: roll back instead of watching it (rollback apply --to last-good)")
        part = deployed.get("partial")
        if isinstance(part, dict) and part.get("components"):  # a pass would vouch for parts of another version
            raise RollbackError(f"{self.record.name}: version {version.version} ({version.label}) is deployed in part "
                                f"only (components {', '.join(map(str, part['components']))} of a partial rollout): "
                                f"apply it whole (rollback apply {self.record.name} --to {version.label}) before "
                                "watching it")
        held = interruption(backend, self.record.name, None)
        if held:
            raise RollbackError(f"{self.record.name}: not watching now: {held}; watch once it has ended")
        folder = self._folder()
        with _signals_caught() as stop, (folder / "samples.jsonl").open("w", encoding="utf-8") as out:
            result = self._loop(version, deployed, backend, stamp, stop, out, folder)
        if result.outcome == "passed":
            why = interruption(backend, self.record.name, stamp)
            if why:
                result.outcome, result.reason, result.exit_code = "interrupted", why, EXIT_INTERRUPTED
            else:
                self._record(result)
        elif result.outcome in ("failed", "inconclusive"):
            result.decision = self._decide(result, deployed, folder)
            result.exit_code = result.decision.exit_code or 1
        from rollback.watch_report import write

        write(result, self.record.name, self.settings, self.env, deployed)
        return result

    def _folder(self) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        folder = self.report_dir / f"{self.record.name}-watch-{stamp}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _loop(self, version: Version, deployed: Mapping[str, Any], backend: str, stamp: tuple[Any, ...] | None,
              stop: _Stop, out: IO[str], folder: Path) -> WatchResult:
        from rollback.redact import Redactor

        redactor = Redactor(env=self.env)
        window, interval = self.settings.window, self.settings.interval
        states = [CheckState(p, interval, window) for p in probes(version.health)]
        prometheus = version.health.prometheus_url
        take = self.sampler or (lambda p: sample(p, prometheus))
        start, n = self.clock(), 0

        def ended(outcome: str, reason: str, code: int = EXIT_PASSED) -> WatchResult:
            return WatchResult(outcome, redactor.text(reason), version, n, self.clock() - start,
                               [s.summary() for s in states], folder, states, exit_code=code)

        while True:
            t = self.clock() - start
            why = interruption(backend, self.record.name, stamp) or (f"{stop.name} received" if stop.name else None)
            if why:
                return ended("interrupted", why, EXIT_INTERRUPTED)
            readings = [(s, s.add(t, *take(s.probe))) for s in states]
            n += 1
            out.write(json.dumps({"i": n, "t": round(t, 3), "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                                  "checks": {s.probe.name: {"value": r.value, "measured": r.measured, "state": r.state,
                                                            "detail": redactor.text(r.detail)}
                                             for s, r in readings}}) + "\n")
            out.flush()
            if self.on_sample is not None:
                self.on_sample(n, t, readings)
            failed = [s for s in states if s.outcome == "failed"]
            if failed:
                return ended("failed", "; ".join(f"{s.probe.name}: {s.why}" for s in failed))
            blind = [s for s in states if s.outcome == "inconclusive"]
            if blind:
                return ended("inconclusive", "; ".join(f"{s.probe.name}: {s.why}" for s in blind))
            if t >= window - 1e-6:
                return ended("passed", f"{len(states)} check(s) held for {n} samples over the window")
            due = start + min(n * interval, window)
            while (left := due - self.clock()) > 0 and not stop.name:
                self.sleep(min(left, 1.0))

    def _record(self, result: WatchResult) -> None:
        """The version passed: append the window to its `watches`, a candidate becomes known-good."""
        from rollback.report import Who
        from rollback_stacks import record as recording

        by = Who.from_env(env=self.env).initiator
        recording.watched(self.record.name, result.version.version,
                          {"window_seconds": self.settings.window, "samples": result.samples,
                           "report": str(result.report_dir), "by": by}, root=self.record.dir.parent)
        result.recorded = True

    def _decide(self, result: WatchResult, deployed: Mapping[str, Any], folder: Path) -> Decision:
        """The validation result of a failed (or inconclusive) watch, decided by the stack's policy."""
        from rollback.decide import ValidationResult, decide
        from rollback.policy import effective

        bad = [c for c in result.checks if c["outcome"] != "passing"]
        metrics = {METRIC_FIELDS[c["name"]]: c["last"] for c in result.checks
                   if c["kind"] == "metric" and c["measure"] == "value" and c["name"] in METRIC_FIELDS
                   and c["last"] is not None}
        validation = {
            "stack": self.record.name, "deployment_id": deployed.get("deployment_id"),
            "failing_checks": [{"name": c["name"], "message": c["why"], "component": "watch"} for c in bad],
            "metrics": metrics, "signals": {c["signal"]: True for c in bad if c["signal"]},
            # a check that cannot be measured is the monitoring's failure, not production's: re-run
            "failure_type": self.failure_type if result.outcome == "failed" else "test_environment"}
        (folder / "validation.json").write_text(json.dumps(validation, indent=2) + "\n")
        decision = decide(ValidationResult.model_validate(validation),
                          policy=effective(self.record.name, self.record.repository))
        (folder / "decision.json").write_text(decision.model_dump_json(indent=2, exclude={"explain"}) + "\n")
        return decision
