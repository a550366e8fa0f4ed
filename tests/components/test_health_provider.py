"""Health gate: HTTP, SQL and metric checks with retries inside the budget; failures name check and value."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from components.providers import health
from components.providers.base import StepFailed
from components.providers.health import HealthGateProvider

METRICS_OK = {"error_rate": 0.01, "latency_p95_ms": 420, "availability": 0.999}


@pytest.fixture
def app(db, standin):
    """An alias on a fresh deployment; returns (alias, deployment id)."""
    tag = uuid.uuid4().hex[:8]
    alias, dep = f"{tag}.example.test", f"dpl_h{tag}"
    standin.post("/v13/deployments", json={"id": dep, "meta": {"metrics": METRICS_OK}})
    standin.post(f"/v2/deployments/{dep}/aliases", json={"alias": alias})
    with psycopg.connect(db) as conn:
        conn.execute("CREATE TABLE dead_letter_queue (id int)")
    return alias, dep


def gate_props(alias: str, budget: float = 5) -> dict:
    return {
        "rollout_id": "ro-1", "deployment_id": None, "budget_seconds": budget, "jobs_frozen_by": "ro-1",
        "prometheus_url": f"${{VERCEL_API_URL}}/_standin/metrics/{alias}",
        "http": [{"name": "app", "url": f"${{VERCEL_API_URL}}/_standin/app/{alias}/health", "expect_status": 200,
                  "expect_json_ok": True}],
        "sql": [{"name": "dead_letter_queue_empty", "query": "SELECT count(*) FROM dead_letter_queue", "max": 0}],
        "metrics": [{"name": "error_rate", "query": "error_rate", "max": 0.05},
                    {"name": "latency_p95_ms", "query": "latency_p95_ms", "max": 3000},
                    {"name": "availability", "query": "availability", "min": 0.99}],
    }


def test_all_checks_pass(app):
    outs = HealthGateProvider().create(gate_props(app[0])).outs
    assert outs["attempts"] == 1
    assert {r["name"]: r["value"] for r in outs["results"]} == {
        "app": 200, "dead_letter_queue_empty": 0, "error_rate": 0.01, "latency_p95_ms": 420, "availability": 0.999}


def test_retries_until_healthy_within_budget(app, standin):
    standin.patch(f"/_standin/deployments/{app[1]}", json={"meta": {"health_fail_first": 2}})
    outs = HealthGateProvider().create(gate_props(app[0], budget=10)).outs
    assert outs["attempts"] == 3


def test_failure_names_each_failing_check_and_value(app, standin, db):
    standin.patch(f"/_standin/deployments/{app[1]}", json={"meta": {
        "health": "fail", "metrics": {"error_rate": 0.12, "latency_p95_ms": 3500, "availability": 0.95}}})
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO dead_letter_queue VALUES (1), (2)")
    with pytest.raises(StepFailed) as err:
        HealthGateProvider().create(gate_props(app[0], budget=1.2))
    msg = str(err.value)
    for part in ["5 of 5 checks failing", "http check 'app': HTTP 503 (want 200)",
                 "sql check 'dead_letter_queue_empty': 2 is above the maximum 0",
                 "metric check 'error_rate': 0.12 is above the maximum 0.05",
                 "metric check 'latency_p95_ms': 3500 is above the maximum 3000",
                 "metric check 'availability': 0.95 is below the minimum 0.99", "Jobs stay frozen by rollout ro-1"]:
        assert part in msg


def test_backoff_stays_inside_budget(monkeypatch):
    waits: list[float] = []
    clock = iter(range(0, 1000))
    monkeypatch.setattr(health.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(health, "run_checks", lambda props: [health.CheckResult("sql", "x", False, 1, "bad")])
    results, attempts = health.gate({"budget_seconds": 6}, sleep=waits.append)
    assert not results[0].ok and attempts == len(waits) + 1
    assert waits[0] == 0.5 and all(w <= 6 for w in waits)


def test_missing_placeholder_and_no_data_are_reported(app, monkeypatch):
    props = gate_props(app[0], budget=0.1)
    props["http"][0]["url"] = "${NOT_SET_ANYWHERE}/health"
    props["metrics"] = [{"name": "ghost", "query": "ghost_metric", "max": 1}]
    with pytest.raises(StepFailed) as err:
        HealthGateProvider().create(props)
    assert "http check 'app': NOT_SET_ANYWHERE is not set" in str(err.value)
    assert "metric check 'ghost': no data for ghost_metric" in str(err.value)
