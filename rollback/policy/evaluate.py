"""Evaluating a policy on a validation result: every rule, whether it matched, and why (values vs thresholds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from rollback.policy.inputs import NUMBERS, number, shown
from rollback.policy.model import Condition
from rollback.policy.rules import ActionRule, Policy, SeverityRule
from rollback.validation_result import Severity, ValidationResult

SEVERITY_ORDER: tuple[Severity, ...] = ("P0", "P1", "P2", "P3")


class Check(BaseModel):
    """One condition's outcome, in words."""

    holds: bool
    why: str
    fact: bool = False  # a value worth repeating in the decision's reason (a number, an error name)


class RuleTrace(BaseModel):
    """One rule's outcome: matched or not, decided or not, and each condition's why."""

    rule: str
    kind: Literal["severity", "action"]
    description: str
    source: str
    matched: bool
    decided: bool = False
    severity: Severity | None = None
    action: str | None = None
    checks: list[Check]

    def reason_text(self) -> str:
        """The description, with the values that made it match."""
        facts = [c.why for c in self.checks if c.fact and c.holds]
        return f"{self.description}: {'; '.join(facts)}" if facts else self.description


@dataclass(frozen=True)
class Outcome:
    """The traces of every rule, the matched severity rules, the classification and the deciding action rule."""

    severity_traces: list[RuleTrace]
    action_traces: list[RuleTrace]
    matched: list[SeverityRule]
    classified: Severity | None
    decided: ActionRule | None


def _listed(items: list[str]) -> str:
    return ", ".join(items)


def _one_of(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"one of {_listed(items)}"


@dataclass(frozen=True)
class _Context:
    policy: Policy
    result: ValidationResult
    matched: frozenset[str]
    severity: Severity | None


def check(cond: Condition, ctx: _Context) -> Check:
    """One condition against the result and what has matched so far."""
    r, subject = ctx.result, cond.subject()
    if (subject == "signal" and cond.signal != "webhooks_stalled_minutes") or subject == "critical_error_seen":
        return _flag(cond, ctx) if subject == "signal" else _critical(ctx)
    if subject in ("signal", "metric"):
        return _compare(cond, ctx)
    if cond.failure_type is not None:
        holds = r.failure_type in cond.failure_type
        return Check(holds=holds, why=f"failure type {r.failure_type or 'none (validation passed)'} "
                     f"{'is' if holds else 'is not'} {_one_of(list(cond.failure_type))}")
    if cond.severity is not None:
        holds = ctx.severity in cond.severity
        return Check(holds=holds, why=f"severity {ctx.severity or 'none'} {'is' if holds else 'is not'} "
                     f"{_one_of(list(cond.severity))}")
    refs = cond.matched or cond.not_matched or []
    hit = [x for x in refs if x in ctx.matched]
    if cond.matched is not None:
        return Check(holds=bool(hit), why=f"rule {_listed(hit)} matched" if hit else
                     f"{_listed(refs)} did not match")
    return Check(holds=not hit, why=f"rule {_listed(hit)} matched" if hit else f"{_listed(refs)} did not match")


def _flag(cond: Condition, ctx: _Context) -> Check:
    name = cond.signal or ""
    value = getattr(ctx.result.signals, name)
    want = True if cond.is_ is None else cond.is_
    text = "unknown" if value is None else str(value).lower()
    return Check(holds=value is want, why=f"{name} is {text}" + ("" if value is want else f", not {str(want).lower()}"))


def _critical(ctx: _Context) -> Check:
    seen = sorted(set(ctx.result.critical_errors) & set(ctx.policy.critical_errors))
    if seen:
        return Check(holds=True, why=_listed(seen), fact=True)
    others = f" (seen, not critical: {_listed(sorted(set(ctx.result.critical_errors)))})" \
        if ctx.result.critical_errors else ""
    return Check(holds=False, why=f"no critical error seen{others}")


def _compare(cond: Condition, ctx: _Context) -> Check:
    name = cond.metric or cond.signal or ""
    info = NUMBERS[name]
    limit_ref = cond.above if cond.above is not None else cond.below
    named = isinstance(limit_ref, str)
    limit = ctx.policy.value(limit_ref) if isinstance(limit_ref, str) else float(limit_ref or 0)
    value = number(ctx.result, name)
    where = f" ({limit_ref})" if named else ""
    if value is None:
        return Check(holds=False, why=f"{info.label}: no value (threshold {shown(limit, info.unit)}{where})")
    above = cond.above is not None
    holds = value > limit if above else value < limit
    op = (">" if holds else "≤") if above else ("<" if holds else "≥")
    return Check(holds=holds, why=f"{info.label} {shown(value, info.unit)} {op} {shown(limit, info.unit)}{where}",
                 fact=True)


def evaluate(policy: Policy, result: ValidationResult) -> Outcome:
    """Run every severity rule in order, then every action rule; the first matching action rule decides."""
    matched: list[SeverityRule] = []
    severity_traces: list[RuleTrace] = []
    for rule in policy.severity_rules:
        ctx = _Context(policy, result, frozenset(r.id for r in matched), None)
        checks = [check(c, ctx) for c in rule.when]
        hit = all(c.holds for c in checks)
        if hit:
            matched.append(rule)
        severity_traces.append(RuleTrace(rule=rule.id, kind="severity", description=rule.description,
                                         source=rule.origin, matched=hit, severity=rule.severity, checks=checks))
    classified = min((r.severity for r in matched), key=SEVERITY_ORDER.index, default=None)
    ctx = _Context(policy, result, frozenset(r.id for r in matched), classified)
    decided: ActionRule | None = None
    action_traces: list[RuleTrace] = []
    for action_rule in policy.action_rules:
        checks = [check(c, ctx) for c in action_rule.when]
        hit = all(c.holds for c in checks)
        first = hit and decided is None
        if first:
            decided = action_rule
        action_traces.append(RuleTrace(rule=action_rule.id, kind="action", description=action_rule.description,
                                       source=action_rule.origin, matched=hit, decided=first,
                                       action=action_rule.action, checks=checks))
    return Outcome(severity_traces, action_traces, matched, classified, decided)
