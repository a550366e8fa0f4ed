"""The watch's checks without services: rates, consecutive samples, failure and inconclusive limits, bounded state,
and the loop's outcomes with a fake clock and sampler."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rollback.validation_result import Signals
from rollback.watch_checks import CHART_BUCKETS, CheckState, Probe, probes, sparkline
from rollback_stacks.model import SIGNALS, HealthChecks


def state(**kw: Any) -> CheckState:
    probe = Probe(kw.pop("name", "c"), kw.pop("kind", "sql"), {"query": "SELECT 1"}, **kw)
    return CheckState(probe, interval=1.0, window=3600.0)


def test_a_rate_is_the_change_per_minute_over_the_trailing_span():
    s = state(measure="rate", max=100, over=10)
    assert s.add(0, 50, None, "50").state == "pending"  # one sample: no rate yet
    assert s.add(5, 55, None, "55").measured == pytest.approx(60)  # 5 rows in 5 s
    r = s.add(20, 155, None, "155")  # from the newest sample at least 10 s old (t=5): 100 rows in 15 s
    assert r.state == "fail" and r.measured == pytest.approx(400) and "400/min is above the maximum 100/min" in r.detail
    assert s.outcome == "failed" and s.why.startswith("rate 400/min")


def test_consecutive_samples_count_a_failure_only_in_a_run_and_the_limit_tolerates_some():
    s = state(max=0.05, consecutive=3, failure_limit=1)
    for t, x in enumerate([0.2, 0.2, 0.01, 0.2, 0.2, 0.2]):  # a spike of two, then a run of three: one failure
        s.add(t, x, None, "")
    assert (s.out, s.failures, s.outcome) == (5, 1, "passing")
    s.add(6, 0.2, None, "")  # the run goes on: a second failure, over the limit of 1
    assert (s.failures, s.outcome) == (2, "failed")
    assert "4 samples in a row" in s.why and "2 failures (limit 1)" in s.why


def test_unmeasurable_samples_in_a_row_make_the_check_inconclusive():
    s = state(max=1, inconclusive_limit=2)
    for t in range(2):
        assert s.add(t, None, None, "query failed").state == "unmeasured"
    s.add(2, 0, None, "0")  # a measured sample ends the run
    for t in range(3, 6):
        s.add(t, None, None, "query failed: timeout")
    assert s.outcome == "inconclusive" and "3 samples in a row could not be measured" in s.why


def test_an_http_check_fails_on_its_own_verdict_and_is_never_inconclusive():
    s = state(kind="http")
    assert s.add(0, 200, True, "HTTP 200").state == "ok"
    assert s.add(1, None, False, "request failed: ConnectError").state == "fail"
    assert s.outcome == "failed" and s.unmeasured == 0


def test_state_stays_bounded_over_a_long_window():
    s = CheckState(Probe("dlq", "sql", {}, "rate", max=1e9, over=60), interval=1.0, window=86400.0)
    for t in range(86400):
        s.add(float(t), float(t % 97), None, "")
    assert len(s.trail) <= 62 and len(s.chart) == CHART_BUCKETS and s.samples == 86400
    assert len(sparkline(s)) == CHART_BUCKETS


def test_watch_entries_replace_the_gate_check_they_sample():
    health = HealthChecks.model_validate({
        "prometheus_url": "http://m", "sql": [{"name": "dlq", "query": "SELECT count(*) FROM q", "max": 0}],
        "metrics": [{"name": "error_rate", "query": "error_rate", "max": 0.05}],
        "watch": [{"name": "dlq_growth", "check": "dlq", "measure": "rate", "max": 100},
                  {"name": "error_rate", "check": "error_rate", "max": 0.05, "consecutive": 3}]})
    got = {p.name: p for p in probes(health)}
    assert set(got) == {"dlq_growth", "error_rate"}
    assert got["dlq_growth"].source["query"] == "SELECT count(*) FROM q" and got["dlq_growth"].kind == "sql"
    assert got["error_rate"].kind == "metric" and got["error_rate"].consecutive == 3


def test_the_signals_a_check_may_raise_are_decides_boolean_signals():
    booleans = [n for n, f in Signals.model_fields.items() if f.annotation is bool]
    # every failure signal; feature_flag_available says how a failure can be fixed, no check's failure raises it
    assert sorted(SIGNALS) == sorted(set(booleans) - {"feature_flag_available"})


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def loop(tmp_path: Path, values: list[float], window: float = 10.0) -> tuple[Any, list[str]]:
    """Watch._loop with a fake clock and sampler (no engine, no services)."""
    from rollback.watch import Watch, _Stop
    from rollback_stacks import load
    from rollback_stacks.watch_settings import WatchSettings

    record = load("local")
    version = record.find("v1.5.0").model_copy(update={"health": HealthChecks.model_validate({
        "watch": [{"name": "dlq_growth", "sql": "SELECT 1", "measure": "rate", "max": 100}]})})
    clock, seen = FakeClock(), iter(values)
    watch = Watch(record, WatchSettings(window=window, interval=1.0), tmp_path, env={}, clock=clock,
                  sleep=clock.sleep, sampler=lambda _p: (next(seen), None, "n"))
    with (tmp_path / "samples.jsonl").open("w") as out:
        result = watch._loop(version, {}, "file:///nonexistent", None, _Stop(), out, tmp_path)
    return result, (tmp_path / "samples.jsonl").read_text().splitlines()


def test_the_loop_passes_after_the_window_with_every_sample_streamed(tmp_path):
    result, lines = loop(tmp_path, [0.0] * 11)
    assert result.outcome == "passed" and result.samples == 11 == len(lines)
    assert [json.loads(line)["t"] for line in lines] == [float(t) for t in range(11)]


def test_the_loop_ends_at_the_first_failure(tmp_path):
    result, lines = loop(tmp_path, [0, 0, 0, 10, 20])
    assert result.outcome == "failed" and result.samples == 4 == len(lines)
    assert "dlq_growth: rate 200/min is above the maximum 100/min" in result.reason
