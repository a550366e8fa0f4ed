"""Whole-policy checks after merging: unique ids, known thresholds of the right unit, known rule references."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rollback.policy.inputs import NUMBERS
from rollback.policy.model import PolicyDocument
from rollback.policy.rules import Threshold
from rollback.policy.sources import Entry
from rollback_stacks.errors import problem

RANGES = {"fraction": (0.0, 1.0), "ms": (0.0, 1e9), "minutes": (0.0, 1e7)}


def duplicates(doc: PolicyDocument, at: Callable[..., str]) -> list[str]:
    """A rule id given twice in one document's list."""
    out: list[str] = []
    for key in ("severity_rules", "action_rules"):
        seen: dict[str, int] = {}
        for i, rule in enumerate(getattr(doc, key)):
            if rule.id in seen:
                out.append(problem(at(key, i, "id"), f"{key}[{i}].id", "an id used once in the list",
                                   f"rename it or merge it with the rule at item {seen[rule.id]}", got=rule.id))
            seen.setdefault(rule.id, i)
    return out


def references(thresholds: Mapping[str, Threshold], severity: Sequence[Entry], actions: Sequence[Entry]
               ) -> list[str]:
    """Every threshold in range, every condition's threshold and rule references known and of the right kind."""
    out: list[str] = []
    for t in thresholds.values():
        low, high = RANGES[t.unit]
        if not low <= t.value <= high:
            out.append(problem(t.origin, f"thresholds.{t.name}.value", f"a number from {low:g} to {high:g} "
                               f"({t.unit})", "correct the value" + (" (0.05 means 5 %)" if t.unit == "fraction"
                                                                     else ""), got=f"{t.value:g}"))
    earlier: list[str] = []
    for entry in severity:
        out += _conditions(entry, thresholds, earlier, in_actions=False)
        earlier.append(entry.fields["id"])
    for entry in actions:
        out += _conditions(entry, thresholds, earlier, in_actions=True)
    return out


def _conditions(entry: Entry, thresholds: Mapping[str, Threshold], rules: list[str], *, in_actions: bool
                ) -> list[str]:
    if entry.when_source is None:
        return []
    src, key, i = entry.when_source
    out: list[str] = []
    for j, cond in enumerate(entry.fields.get("when") or []):
        def at(name: str, j: int = j) -> str:
            return src.at(key, i, "when", j, name)

        field = f"{key}.{entry.fields['id']}.when[{j}]"
        name = cond.metric or cond.signal
        for side in ("above", "below"):
            value: Any = getattr(cond, side)
            if isinstance(value, str):
                out += _threshold(thresholds, value, NUMBERS[name].unit, at(side), f"{field}.{side}")
        for kind in ("matched", "not_matched"):
            for ref in getattr(cond, kind) or []:
                if ref not in rules:
                    which = "a severity rule" if in_actions else "an earlier severity rule"
                    out.append(problem(at(kind), f"{field}.{kind}", which,
                                       f"use one of: {', '.join(rules) or '(none yet)'}", got=ref))
        if cond.severity is not None and not in_actions:
            out.append(problem(at("severity"), f"{field}.severity", "a condition a severity rule can test",
                               "test severity in action_rules (severity is known once every severity rule ran)",
                               got="a severity condition"))
    return out


def _threshold(thresholds: Mapping[str, Threshold], name: str, unit: str, where: str, field: str) -> list[str]:
    if name not in thresholds:
        return [problem(where, field, "a number or the name of a threshold",
                        f"define thresholds.{name} or use one of: {', '.join(thresholds)}", got=name)]
    if thresholds[name].unit != unit:
        return [problem(where, field, f"a threshold in {unit}", "compare with a threshold of the same unit",
                        got=f"{name} ({thresholds[name].unit})")]
    return []
