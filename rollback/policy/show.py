"""The effective policy as a complete policy document (YAML with each part's origin as a comment, or JSON)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from rollback.policy.model import Condition
from rollback.policy.rules import ActionRule, Policy, SeverityRule


def _when(conditions: tuple[Condition, ...]) -> list[dict[str, Any]]:
    return [c.model_dump(exclude_none=True, by_alias=True) for c in conditions]


def _severity(r: SeverityRule) -> dict[str, Any]:
    out: dict[str, Any] = {"id": r.id, "description": r.description, "severity": r.severity}
    return out | ({"note": r.note} if r.note else {}) | {"when": _when(r.when)}


def _action(r: ActionRule) -> dict[str, Any]:
    out: dict[str, Any] = {"id": r.id, "description": r.description, "action": r.action}
    out |= {"immediate": True} if r.immediate else {}
    out |= {"default_severity": r.default_severity} if r.default_severity else {}
    return out | {"when": _when(r.when)}


def document(policy: Policy) -> dict[str, Any]:
    """The effective policy as one complete document (valid input for the policy schema)."""
    o = policy.emergency_override
    return {
        "version": 1,
        "description": f"effective policy: {' + '.join(policy.sources)}",
        "thresholds": {n: {"value": t.value, "unit": t.unit, "description": t.description}
                       for n, t in policy.thresholds.items()},
        "critical_errors": list(policy.critical_errors),
        "severity_rules": [_severity(r) for r in policy.severity_rules],
        "action_rules": [_action(r) for r in policy.action_rules],
        "emergency_override": {"description": o.description, "action": o.action, "immediate": o.immediate,
                               "default_severity": o.default_severity},
        "notes": dict(policy.notes),
    }


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=4096, allow_unicode=True)


def _indent(text: str, by: str = "  ") -> str:
    return "".join(by + line for line in text.splitlines(keepends=True))


def render_yaml(policy: Policy) -> str:
    """The document as YAML, each threshold and rule preceded by the file:line (or setting) it came from."""
    doc = document(policy)
    out = [f"# effective policy: {' + '.join(policy.sources)}\n",
           _dump({"version": 1, "description": doc["description"]}), "thresholds:\n"]
    for name, th in doc["thresholds"].items():
        out += [f"  # {policy.thresholds[name].origin}\n", _indent(_dump({name: th}))]
    out += [f"# {policy.critical_errors_origin}\n", _dump({"critical_errors": doc["critical_errors"]})]
    for key, rules, origins in (("severity_rules", doc["severity_rules"], [r.origin for r in policy.severity_rules]),
                                ("action_rules", doc["action_rules"], [r.origin for r in policy.action_rules])):
        out.append(f"{key}:\n")
        for rule, origin in zip(rules, origins, strict=True):
            out += [f"  # {origin}\n", _indent(_dump([rule]))]
    out += [f"# {policy.emergency_override.origin}\n", _dump({"emergency_override": doc["emergency_override"]}),
            _dump({"notes": doc["notes"]})]
    return "".join(out)


def render_json(policy: Policy) -> str:
    """The document as JSON, with an `origins` map (rule or threshold -> file:line)."""
    origins = {f"thresholds.{n}": t.origin for n, t in policy.thresholds.items()}
    origins |= {f"severity_rules.{r.id}": r.origin for r in policy.severity_rules}
    origins |= {f"action_rules.{r.id}": r.origin for r in policy.action_rules}
    return json.dumps({"policy": document(policy), "sources": list(policy.sources), "origins": origins}, indent=2)
