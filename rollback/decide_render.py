"""`rollback decide` as text: the decision with its reasons, and (--explain) every rule of the policy."""

from __future__ import annotations

from rollback.decide import Action, Decision
from rollback.policy.evaluate import RuleTrace

HEADS = {
    Action.NONE: "nothing to do: validation passed",
    Action.ROLLBACK: "ROLLBACK to {target}",
    Action.FIX_FORWARD: "FIX FORWARD (no rollback)",
    Action.RERUN_VALIDATION: "RE-RUN VALIDATION",
    Action.DATA_FIX: "DATA FIX + re-validation",
}


def render_text(decision: Decision) -> str:
    """Human-readable decision: one headline, the reasons (rule id, file:line), notes and the thresholds applied."""
    head = HEADS[decision.action].format(target=decision.target)
    tags = [t for t in (decision.severity, "immediate" if decision.immediate else None, decision.stack) if t]
    lines = [f"decision: {head}" + (f" ({', '.join(tags)})" if tags else "")]
    lines += [f"  - {r.text}" + (f" [{r.severity}]" if r.severity else "") + f" (rule {r.rule}, {r.source})"
              for r in decision.reasons]
    lines += [f"  note: {n}" for n in decision.notes]
    lines.append(f"thresholds: {', '.join(f'{n} {t.shown()}' for n, t in decision.thresholds.items())}")
    lines.append(f"policy: {' + '.join(decision.policy)}")
    return "\n".join(lines)


def _trace(t: RuleTrace, decided: str | None) -> list[str]:
    mark = "x" if t.matched else " "
    what = t.severity if t.kind == "severity" else t.action
    state = "DECIDES" if t.decided else ("matches, but " + decided + " decided first" if t.matched and decided
                                         else ("matches" if t.matched else "no match"))
    lines = [f"  [{mark}] {t.rule} ({what}): {t.description} — {state}  [{t.source}]"]
    lines += [f"        {'yes' if c.holds else 'no '}: {c.why}" for c in t.checks]
    return lines


def render_explain(decision: Decision) -> str:
    """Every rule: matched or not, and why (values vs thresholds), in the order the policy evaluates them."""
    traces = decision.explain or []
    severity = [t for t in traces if t.kind == "severity"]
    actions = [t for t in traces if t.kind == "action"]
    decided = next((t.rule for t in actions if t.decided), None)
    lines = [f"policy: {' + '.join(decision.policy)}", "thresholds:"]
    lines += [f"  {name} = {t.shown()}  [{t.source}]" for name, t in decision.thresholds.items()]
    lines.append(f"  critical_errors = {', '.join(decision.critical_errors) or '(none)'}")
    lines.append("severity rules (every match counts; the most severe wins):")
    for t in severity:
        lines += _trace(t, None)
    lines.append("action rules (the first match decides):")
    for t in actions:
        lines += _trace(t, decided if t.matched and not t.decided else None)
    if not decided:
        lines.append("  no action rule matched: nothing to do")
    if decision.override:
        lines.append(f"emergency override by {decision.override.approver}: {decision.action.value}")
    return "\n".join(lines)
