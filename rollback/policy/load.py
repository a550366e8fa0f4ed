"""Reading the policy: the shipped default, then the stack's override (rollback_stacks/<stack>/policy.yaml), merged
rule by rule and checked as a whole. Every refusal names the file, the line, the field and the fix."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rollback.policy import checks
from rollback.policy.model import PolicyDocument, RuleDoc
from rollback.policy.rules import ActionRule, OverrideRule, Policy, SeverityRule, Threshold
from rollback.policy.sources import Entry, Source
from rollback_stacks import docs
from rollback_stacks.errors import TargetError, problem
from rollback_stacks.store import STACK_NAME, joined, schema_problems

DEFAULT_FILE = Path(__file__).resolve().parent / "default.yaml"
DEFAULT_SHOWN = "rollback/policy/default.yaml"
STACK_FILE = "policy.yaml"
SCHEMA_HINT = "see rollback/policy/policy.schema.json"


class PolicyError(TargetError):
    """A refused policy document."""


def read(path: Path, shown: str) -> Source:
    """One policy document, read safely (size, UTF-8, no aliases or tags, no duplicate keys) and schema-valid."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise PolicyError(problem(shown, "", "a regular file", "replace it with a plain YAML file",
                                  got="a symlink or special file"))
    doc = docs.read(path, shown)
    if not isinstance(doc.data, dict):
        raise PolicyError(problem(shown, "(document)", "a mapping starting with `version: 1`",
                                  f"start from {DEFAULT_SHOWN}", line=1,
                                  got="an empty file" if doc.data is None else type(doc.data).__name__))
    try:
        parsed = PolicyDocument.model_validate(doc.data)
    except ValidationError as err:
        _raise(schema_problems(doc, shown, err, hint=SCHEMA_HINT) or [str(err)])
        raise  # unreachable: _raise raised
    source = Source(shown, doc, parsed)
    _raise(checks.duplicates(source.parsed, source.at))
    return source


def stack_file(stack: str | None, project_dir: Path) -> Path | None:
    """rollback_stacks/<stack>/policy.yaml when the stack has one."""
    if not stack or not STACK_NAME.match(stack):
        return None
    path = project_dir / "rollback_stacks" / stack / STACK_FILE
    return path if path.exists() or path.is_symlink() else None


def load(stack: str | None, project_dir: Path) -> Policy:
    """The effective policy of a stack: the default, then its override file (without rollback:thresholds)."""
    sources = [read(DEFAULT_FILE, DEFAULT_SHOWN)]
    path = stack_file(stack, project_dir)
    if path is not None:
        sources.append(read(path, f"rollback_stacks/{stack}/{STACK_FILE}"))
    return merge(sources)


def _merge_rules(sources: list[Source], key: str) -> tuple[list[Entry], list[str]]:
    entries: dict[str, Entry] = {}
    order: list[str] = []
    out: list[str] = []
    for src in sources:
        rules: list[RuleDoc] = list(getattr(src.parsed, key))
        for i, rule in enumerate(rules):
            where = src.at(key, i)
            if rule.id not in entries and not rule.enabled:
                out.append(problem(where, f"{key}.{rule.id}", "an existing rule to turn off",
                                   f"check the id (rules: {', '.join(order)})", got="no such rule"))
                continue
            if not rule.enabled:
                order.remove(rule.id)
                del entries[rule.id]
                continue
            entry = entries.setdefault(rule.id, Entry({"id": rule.id}, where))
            entry.origin = where
            for name in rule.model_fields_set - {"id", "before", "enabled"}:
                entry.fields[name] = getattr(rule, name)
                entry.at[name] = src.at(key, i, name)
            if rule.when is not None:
                entry.when_source = (src, key, i)
            if rule.before is not None and rule.before not in order:
                out.append(problem(src.at(key, i, "before"), f"{key}.{rule.id}.before", "the id of a rule in "
                                   f"{key}", f"use one of: {', '.join(order)}", got=rule.before))
                continue
            if rule.id in order and rule.before is not None:
                order.remove(rule.id)
            if rule.id not in order:
                order.insert(order.index(rule.before) if rule.before else len(order), rule.id)
    return [entries[i] for i in order], out


def merge(sources: list[Source]) -> Policy:
    """The complete policy from documents in order (later ones override earlier ones), checked as a whole."""
    out: list[str] = []
    thresholds: dict[str, Threshold] = {}
    fields: dict[str, dict[str, Any]] = {}
    for src in sources:
        for name, th in src.parsed.thresholds.items():
            merged = fields.setdefault(name, {"origin": src.at("thresholds", name)})
            for key in th.model_fields_set:
                merged[key] = getattr(th, key)
            if "value" in th.model_fields_set:
                merged["origin"] = src.at("thresholds", name, "value")
    for name, f in fields.items():
        missing = [k for k in ("value", "unit", "description") if f.get(k) is None]
        if missing:
            out.append(problem(f["origin"], f"thresholds.{name}", f"{', '.join(missing)} for a new threshold",
                               f"add `{missing[0]}:`", got="nothing"))
            continue
        thresholds[name] = Threshold(name, f["value"], f["unit"], f["description"], f["origin"])
    severity, problems = _merge_rules(sources, "severity_rules")
    actions, more = _merge_rules(sources, "action_rules")
    out += problems + more
    critical = next(((s.parsed.critical_errors, s.at("critical_errors")) for s in reversed(sources)
                     if s.parsed.critical_errors is not None), ([], sources[0].shown))
    override = _override(sources, out)
    notes: dict[str, str] = {k: v for s in sources for k, v in s.parsed.notes.items()}
    severity_rules = [r for e in severity if (r := _severity_rule(e, out))]
    action_rules = [a for e in actions if (a := _action_rule(e, out))]
    out += checks.references(thresholds, severity, actions)
    _raise(out)
    assert override is not None
    return Policy(thresholds, tuple(critical[0]), critical[1], tuple(severity_rules), tuple(action_rules),
                  override, notes, tuple(s.shown for s in sources))


def _required(entry: Entry, names: tuple[str, ...], out: list[str]) -> bool:
    missing = [n for n in names if entry.fields.get(n) is None]
    if missing:
        out.append(problem(entry.origin, f"rule {entry.fields['id']}", f"{', '.join(missing)} (a new rule needs "
                           "all of them)", f"add `{missing[0]}:` ({SCHEMA_HINT})", got="nothing"))
    return not missing


def _severity_rule(e: Entry, out: list[str]) -> SeverityRule | None:
    if not _required(e, ("description", "severity", "when"), out):
        return None
    f = e.fields
    return SeverityRule(f["id"], f["description"], f["severity"], tuple(f["when"]), e.origin, f.get("note"))


def _action_rule(e: Entry, out: list[str]) -> ActionRule | None:
    if not _required(e, ("description", "action", "when"), out):
        return None
    f = e.fields
    return ActionRule(f["id"], f["description"], f["action"], tuple(f["when"]), e.origin,
                      bool(f.get("immediate")), f.get("default_severity"))


def _override(sources: list[Source], out: list[str]) -> OverrideRule | None:
    merged: dict[str, Any] = {}
    origin = sources[0].shown
    for src in sources:
        if src.parsed.emergency_override is not None:
            origin = src.at("emergency_override")
            merged |= {k: getattr(src.parsed.emergency_override, k)
                       for k in src.parsed.emergency_override.model_fields_set}
    missing = [k for k in ("description", "action", "immediate", "default_severity") if merged.get(k) is None]
    if missing:
        out.append(problem(origin, "emergency_override", f"{', '.join(missing)}", f"add `{missing[0]}:`",
                           got="nothing"))
        return None
    return OverrideRule(merged["description"], merged["action"], merged["immediate"], merged["default_severity"],
                        origin)


def _raise(problems: list[str]) -> None:
    if problems:
        err = joined(problems)
        raise PolicyError(str(err))



@cache
def default() -> Policy:
    """The shipped default policy (read once)."""
    return merge([read(DEFAULT_FILE, DEFAULT_SHOWN)])


def effective(stack: str | None, project_dir: Path) -> Policy:
    """The policy `rollback decide` applies for a stack: default, the stack's policy.yaml, then rollback:thresholds."""
    from rollback.policy import stack_thresholds

    policy = load(stack, project_dir) if stack_file(stack, project_dir) else default()
    overlay, origin = stack_thresholds.read(stack, project_dir)
    if overlay.values() or overlay.critical_errors is not None:
        policy = overlay.apply(policy, origin)
    return policy
