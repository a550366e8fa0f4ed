"""Table-driven tests over every row of the seeds' decision matrices (seeds 001, 002, 003, 004), run against the
shipped default policy (rollback/policy/default.yaml)."""

from __future__ import annotations

from typing import Any

import pytest

from rollback.decide import Action, Override, Thresholds, ValidationResult, decide

R, FF, RR, DF, NONE = Action.ROLLBACK, Action.FIX_FORWARD, Action.RERUN_VALIDATION, Action.DATA_FIX, Action.NONE


def vr(failure_type: str | None = "application", **kw: Any) -> ValidationResult:
    """A validation result with one failing check (when classified) plus the given fields."""
    checks = [{"name": "smoke"}] if failure_type else []
    return ValidationResult.model_validate({"failure_type": failure_type, "failing_checks": checks, **kw})


# Seed 003 "When to Rollback": issue | severity | rollback? | notes  ->  our action
SEED_003 = [
    ("API completely down", vr(signals={"service_down": True}), "P0", R, True),
    ("Database connection failed", vr(signals={"db_connection_failed": True}), "P0", R, True),
    ("Data corruption detected", vr(signals={"data_corruption": True}), "P0", R, True),
    ("Error rate >10%", vr(metrics={"error_rate": 0.12}), "P1", R, False),
    ("Error rate 5-10%", vr(metrics={"error_rate": 0.07}), "P1", R, False),  # seed 002: > 5 % triggers
    ("Response time >2x baseline", vr(metrics={"p95_ms": 900, "baseline_p95_ms": 400}), "P2", FF, False),
    ("Single feature broken (flag)", vr(signals={"single_feature_broken": True, "feature_flag_available": True}),
     "P2", FF, False),
    ("Minor UI issue", vr(signals={"minor_ui_issue": True}), "P3", FF, False),
    ("Performance slightly degraded", vr(metrics={"perf_degradation": 0.2}), "P3", FF, False),
]


@pytest.mark.parametrize(("issue", "result", "severity", "action", "immediate"), SEED_003, ids=[r[0] for r in SEED_003])
def test_seed_003_when_to_rollback(issue, result, severity, action, immediate):
    d = decide(result)
    assert (d.severity, d.action, d.immediate) == (severity, action, immediate), issue
    assert (d.target == "last-good") == (action is R)


def test_seed_003_data_corruption_says_stop_writes():
    assert any("stop all writes" in n for n in decide(vr(signals={"data_corruption": True})).notes)


# Seed 003 flowchart branches
FLOWCHART = [
    ("service down -> rollback immediately", vr(signals={"service_down": True}), R),
    ("error rate > 10% -> rollback", vr(metrics={"error_rate": 0.2}), R),
    ("perf > 50%, fixable -> fix forward", vr(metrics={"perf_degradation": 0.6}, signals={"perf_fixable": True}), FF),
    ("perf > 50%, unknown -> try optimization first", vr(metrics={"perf_degradation": 0.6}), FF),
    ("perf > 50%, not fixable -> rollback", vr(metrics={"perf_degradation": 0.6}, signals={"perf_fixable": False}), R),
    ("single feature, no flag -> rollback", vr(signals={"single_feature_broken": True}), R),
    ("single feature, flag -> fix forward",
     vr(signals={"single_feature_broken": True, "feature_flag_available": True}), FF),
]


@pytest.mark.parametrize(("branch", "result", "action"), FLOWCHART, ids=[r[0] for r in FLOWCHART])
def test_seed_003_flowchart(branch, result, action):
    assert decide(result).action is action, branch


# Seed 003 severity table: level -> action / timeline
SEVERITY_TABLE = [
    ("P0 service down, data loss risk: immediate rollback", vr(signals={"data_corruption": True}), "P0", R),
    ("P1 critical feature broken: rollback within 30 min", vr(signals={"critical_feature_broken": True}), "P1", R),
    ("P2 performance degraded >50%: rollback within 1 hour, optimization first",
     vr(metrics={"perf_degradation": 0.55}, signals={"perf_fixable": False}), "P2", R),
    ("P3 minor issues: investigate, may not rollback", vr(signals={"non_critical_bug": True}), "P3", FF),
]


@pytest.mark.parametrize(("row", "result", "severity", "action"), SEVERITY_TABLE,
                         ids=[r[0][:2] for r in SEVERITY_TABLE])
def test_seed_003_severity_table(row, result, severity, action):
    d = decide(result)
    assert (d.severity, d.action) == (severity, action), row


# Seed 004: failure type -> action (production within thresholds), and the policy rule that decides it
SEED_004 = [
    ("infrastructure", R, "infrastructure_failure"),
    ("application", FF, "fix_forward_application"),
    ("test_environment", RR, "test_environment_failure"),
    ("data", DF, "data_failure"),
]


@pytest.mark.parametrize(("failure_type", "action", "rule"), SEED_004)
def test_seed_004_validation_failure_matrix(failure_type, action, rule):
    d = decide(vr(failure_type, metrics={"error_rate": 0.01, "p95_ms": 800, "availability": 0.999}))
    assert d.action is action
    assert d.target == ("last-good" if action is R else None)
    assert [r.rule for r in d.reasons] == [rule]
    assert d.reasons[0].source.startswith("rollback/policy/default.yaml:")


@pytest.mark.parametrize("failure_type", ["application", "test_environment", "data", "infrastructure"])
def test_thresholds_exceeded_roll_back_whatever_the_failure_type(failure_type):
    assert decide(vr(failure_type, metrics={"availability": 0.95})).action is R


@pytest.mark.parametrize("failure_type", ["application", "test_environment", "data", "infrastructure"])
def test_p0_overrides_failure_type(failure_type):
    d = decide(vr(failure_type, critical_errors=["AUTH_SERVICE_DOWN"]))
    assert (d.action, d.severity, d.immediate) == (R, "P0", True)


def test_emergency_override_records_reason_and_approver():
    d = decide(vr("test_environment"), override=Override(reason="card data exposure", approver="cto"))
    assert d.action is R and d.immediate
    assert d.override.approver == "cto"
    assert "card data exposure" in d.reasons[0].text and "cto" in d.reasons[0].text


# Seed 001 incident classification: every list entry -> severity
SEED_001 = [
    ("P0 complete service outage", vr(signals={"service_down": True}), "P0"),
    ("P0 data corruption or loss", vr(signals={"data_corruption": True}), "P0"),
    ("P0 security breach", vr(signals={"security_breach": True}), "P0"),
    ("P0 migration failure affecting production", vr(signals={"migration_failed": True}), "P0"),
    ("P0 no webhook processing > 15 min", vr(signals={"webhooks_stalled_minutes": 16}), "P0"),
    ("P1 partial service degradation", vr(signals={"partial_degradation": True}), "P1"),
    ("P1 migration rollback failure", vr(signals={"rollback_failed": True}), "P1"),
    # seed 001 says P1; seed 003 (the rollback decision matrix) says P2 and wins (README: Rollback policy)
    ("P1 performance degradation > 50% (seed 003: P2)", vr(metrics={"perf_degradation": 0.6}), "P2"),
    ("P1 error rate > 10%", vr(metrics={"error_rate": 0.11}), "P1"),
    ("P2 minor performance issues", vr(metrics={"perf_degradation": 0.3}), "P3"),  # seed 003 row 9 wins
    ("P2 single feature failures", vr(signals={"single_feature_broken": True}), "P2"),
    ("P2 migration validation failures", vr("application"), "P2"),
    ("P3 cosmetic issues", vr(signals={"minor_ui_issue": True}), "P3"),
    ("P3 non-critical bugs", vr(signals={"non_critical_bug": True}), "P3"),
]


@pytest.mark.parametrize(("entry", "result", "severity"), SEED_001, ids=[r[0] for r in SEED_001])
def test_seed_001_classification(entry, result, severity):
    assert decide(result).severity == severity, entry


def test_webhooks_stalled_exactly_15_minutes_is_not_p0():
    assert decide(vr(signals={"webhooks_stalled_minutes": 15})).severity != "P0"


# Seed 002 thresholds, including boundaries (strict > / <, as in checkDeploymentHealth)
SEED_002 = [
    ("error rate 5 % exactly", {"error_rate": 0.05}, FF),
    ("error rate just above 5 %", {"error_rate": 0.0501}, R),
    ("error rate 10 % exactly (row 5)", {"error_rate": 0.10}, R),
    ("error rate just above 10 % (row 4)", {"error_rate": 0.1001}, R),
    ("p95 3000 ms exactly", {"p95_ms": 3000}, FF),
    ("p95 3001 ms", {"p95_ms": 3001}, R),
    ("availability 99 % exactly", {"availability": 0.99}, FF),
    ("availability 98.99 %", {"availability": 0.9899}, R),
    ("all healthy", {"error_rate": 0.001, "p95_ms": 250, "availability": 1.0}, FF),
]


@pytest.mark.parametrize(("case", "metrics", "action"), SEED_002, ids=[r[0] for r in SEED_002])
def test_seed_002_thresholds(case, metrics, action):
    assert decide(vr("application", metrics=metrics)).action is action, case


@pytest.mark.parametrize("name", ["STRIPE_WEBHOOK_FAILED", "DATABASE_CONNECTION_LOST", "AUTH_SERVICE_DOWN"])
def test_seed_002_critical_errors_trigger_immediate_rollback(name):
    d = decide(vr("application", critical_errors=[name, "SOMETHING_ELSE"]))
    assert (d.action, d.severity, d.immediate) == (R, "P0", True)
    assert name in d.reasons[0].text and "SOMETHING_ELSE" not in d.reasons[0].text


def test_custom_thresholds_change_the_boundary():
    th = Thresholds(error_rate=0.02, p95_ms=500, availability=0.999, critical_errors=["PAYMENTS_DOWN"])
    assert decide(vr(metrics={"error_rate": 0.03}), th).action is R
    assert decide(vr(metrics={"p95_ms": 600}), th).action is R
    assert decide(vr(metrics={"availability": 0.998}), th).action is R
    assert decide(vr(critical_errors=["PAYMENTS_DOWN"]), th).severity == "P0"
    assert decide(vr(critical_errors=["AUTH_SERVICE_DOWN"]), th).action is FF  # list replaced, not extended


def test_passing_validation_means_nothing_to_do():
    d = decide(vr(None, metrics={"error_rate": 0.0, "p95_ms": 100, "availability": 1.0}))
    assert (d.action, d.severity, d.target, d.exit_code) == (NONE, None, None, 0)


def test_exit_codes_distinguish_actions():
    from rollback.decide import EXIT_CODES

    assert EXIT_CODES == {NONE: 0, R: 3, FF: 4, RR: 5, DF: 6}
