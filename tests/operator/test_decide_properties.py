"""Properties of the decision over arbitrary validation results (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rollback.decide import EXIT_CODES, Action, Signals, ValidationResult, decide
from rollback.policy import default

P0_RULES = {r.id for r in default().severity_rules if r.severity == "P0"}

fractions = st.one_of(st.none(), st.floats(0, 1, allow_nan=False))
signals = st.fixed_dictionaries({}, optional={name: st.booleans() for name, f in Signals.model_fields.items()
                                              if f.annotation is bool})
results = st.builds(
    lambda ft, er, av, p95, deg, sig, crit: ValidationResult.model_validate({
        "failure_type": ft, "failing_checks": [{"name": "c"}] if ft else [],
        "metrics": {"error_rate": er, "availability": av, "p95_ms": p95, "perf_degradation": deg},
        "signals": sig, "critical_errors": crit}),
    st.sampled_from([None, "infrastructure", "application", "test_environment", "data"]),
    fractions, fractions, st.one_of(st.none(), st.floats(0, 20000, allow_nan=False)),
    st.one_of(st.none(), st.floats(0, 5, allow_nan=False)), signals,
    st.lists(st.sampled_from(["AUTH_SERVICE_DOWN", "OTHER", "STRIPE_WEBHOOK_FAILED"]), max_size=2))


@settings(max_examples=300, deadline=None)
@given(results)
def test_decision_invariants(result):
    d = decide(result)
    rules = {r.rule for r in d.reasons}
    assert d.exit_code == EXIT_CODES[d.action]
    assert (d.target == "last-good") == (d.action is Action.ROLLBACK)
    assert (d.severity is None) == (d.action is Action.NONE)
    if rules & P0_RULES:
        assert (d.action, d.severity, d.immediate) == (Action.ROLLBACK, "P0", True)
    if d.action is Action.NONE:
        assert result.failure_type is None and not d.reasons


@settings(max_examples=200, deadline=None)
@given(results, st.floats(0, 1, allow_nan=False))
def test_a_worse_error_rate_never_cancels_a_rollback(result, worse):
    if decide(result).action is not Action.ROLLBACK:
        return
    current = result.metrics.error_rate or 0
    metrics = result.metrics.model_copy(update={"error_rate": max(current, worse)})
    assert decide(result.model_copy(update={"metrics": metrics})).action is Action.ROLLBACK
