"""Renders a Plan as text (terminal), Markdown (a PR comment read in 30 seconds) or JSON."""

from __future__ import annotations

import difflib
import json
from typing import Any

from rich.text import Text

from components.providers.data_loss import amount, phrase
from components.providers.migrations import GENERATED
from rollback.plan import Plan, Step

OP_MARK = {"create": "+", "update": "~", "delete": "-", "replace": "±", "create-replacement": "±",
           "delete-replaced": "-"}
OP_STYLE = {"create": "green", "update": "yellow", "delete": "red"}
ROWS = (("version", "version"), ("label", "label"), ("deployment", "deployment_id"), ("schema", "schema_version"))


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _change_lines(step: Step, limit: int | None = 60) -> list[str]:
    """from → to per input; the terminal folds long values at limit, the PR comment (limit None) never does."""
    def shown(value: Any) -> str:
        return _short(value, limit) if limit else _short(value, 1 << 62)
    return [f"{k}: {shown(a)} → {shown(b)}" for k, (a, b) in step.changes.items()]


def _summary_rows(plan: Plan) -> list[tuple[str, str, str]]:
    return [(title, _short(plan.current.get(key, "—") if plan.current else "—"), _short(plan.desired.get(key, "—")))
            for title, key in ROWS]


HOLDS = {True: ("yes", "✅"), False: ("NO", "❌"), None: ("unknown", "❔")}
BOUNDARY_HEAD = ("after", "serving", "accepts", "schema", "DB objects (accept)", "holds")


def _boundary_rows(plan: Plan) -> list[tuple[tuple[str, ...], bool | None]]:
    """One row per step boundary (who serves, which schemas it accepts, the live schema, whose DB objects), holds."""
    rows: list[tuple[tuple[str, ...], bool | None]] = []
    for b in (plan.order or {}).get("boundaries") or []:
        maintenance = b.get("serving_of") == "maintenance"
        objects = f"{b['objects_of']} ({b.get('objects_accept') or '?'})" if b.get("objects_of") else "—"
        rows.append(((b["after"], f"{b.get('serving') or '—'} ({b.get('serving_of')})",
                     "any" if maintenance else (b.get("accepts") or "?"), str(b.get("schema", "—")), objects),
                     b.get("holds")))
    return rows


def to_text(plan: Plan) -> Text:
    """Ordered steps with from → to, styled for a terminal (plain when piped); values are never read as markup."""
    only = plan.desired.get("partial")
    out = Text()
    out.append(f"Plan for stack {plan.stack}", "bold")
    out.append(f" → {plan.desired.get('label')} (version {plan.desired.get('version')}, ref {plan.target})"
               + (f", only {', '.join(only)}" if only else ""))
    for title, cur, new in _summary_rows(plan):
        out.append(f"\n  {title:<11} {cur} → {new}")
    if not plan.has_changes:
        out.append("\n")
        out.append("No changes.", "green")
        out.append(" The stack already matches the target.")
        return out
    if plan.order:
        out.append("\n\n")
        out.append("Order:", "bold")
        out.append(f" {plan.order.get('note')}")
        rows = _boundary_rows(plan)
        if rows:
            table = [BOUNDARY_HEAD, *[(*cells, HOLDS[holds][0]) for cells, holds in rows]]
            widths = [max(len(r[i]) for r in table) for i in range(len(BOUNDARY_HEAD))]
            for row in table:
                out.append("\n  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(),
                           "red" if row[-1] == HOLDS[False][0] else "")
    out.append("\n\n")
    out.append(f"{len(plan.steps)} step(s) in dependency order:", "bold")
    for s in plan.steps:
        out.append(f"\n  {s.index}. ")
        out.append(f"{OP_MARK.get(s.op, '?')} {s.op}", OP_STYLE.get(s.op, "magenta"))
        out.append(" ")
        out.append(s.component, "bold")
        out.append(f" {s.name}")
        for change in _change_lines(s):
            out.append(f"\n       {change}")
        for d in s.destructive:  # what each file destroys, with how many rows or values now
            out.append(f"\n       {d['file']}: {phrase(d)} ({amount(d)})", "red" if d.get("rows") or d.get("unknown")
                       else "")
        for name, stmts in s.sql.items():
            if name == GENERATED:  # no file to read: the reviewer sees every generated statement here
                out.append(f"\n       {name}: {len(stmts)} statement(s)")
                for stmt in stmts:
                    out.append("\n" + "\n".join(f"         {line}" for line in stmt.splitlines()) + ";")
    for w in plan.warnings:
        out.append("\n")
        out.append("warning:", "red")
        out.append(f" {w}")
    for n in plan.notes:
        out.append("\n")
        out.append("note:", "bold")
        out.append(f" {n}")
    return out


def refused_markdown(stack: str, ref: str, reason: str) -> str:
    """The PR comment for a target the tool refuses: the refusal first, what to do second."""
    return (f"### Rollback plan: `{stack}` → `{ref}`: **refused**\n\n> [!CAUTION]\n> {reason}\n\n"
            "Nothing was previewed or changed. Fix `rollback:target` (or the stack's settings) as the message says "
            "and push again.\n")


def _created(when: str | None) -> str:
    return f"created {when}" if when else "creation date unknown"


def _count(d: dict[str, Any]) -> str:
    """How many rows or values a loss affects now, in bold (its unit singular for one)."""
    if d.get("rows") is None:
        return amount(d)
    rows = int(d["rows"])
    unit = str(d.get("unit") or "rows")
    if rows == 1:
        unit = unit.replace("rows", "row", 1).replace("values", "value", 1).replace("positions", "position", 1)
    return f"**{rows} {unit}** now"


def _sql_details(step: Step) -> list[str]:
    """A schema step's files, each collapsed with its statements in run order."""
    out: list[str] = []
    for name, stmts in step.sql.items():
        out += [f"<details><summary><code>{name}</code>: {len(stmts)} statement(s)</summary>", "", "```sql"]
        out += [f"{stmt}{'' if stmt.endswith(';') else ';'}" for stmt in stmts]
        out += ["```", "</details>", ""]
    return out


def _markdown_changes(step: Step) -> list[str]:
    """Each changed input in full; a SQL body (a function's) as the file move and a unified diff."""
    out: list[str] = []
    for key, (old, new) in step.changes.items():
        if isinstance(old, dict) and isinstance(new, dict) and isinstance(old.get("sql"), str) \
                and isinstance(new.get("sql"), str):
            diff = difflib.unified_diff(old["sql"].splitlines(), new["sql"].splitlines(), str(old.get("file")),
                                        str(new.get("file")), lineterm="")
            out += [f"- `{key}`: `{old.get('file')}` → `{new.get('file')}`", "", "```diff", *diff, "```", ""]
        else:
            out.append(f"- `{key}: {_short(old, 1 << 62)} → {_short(new, 1 << 62)}`")
    return out


def to_markdown(plan: Plan) -> str:
    """A PR comment: summary table, ordered steps, the SQL to run, warnings, details collapsed; nothing truncated."""
    label, number = plan.desired.get("label"), plan.desired.get("version")
    only = plan.desired.get("partial")
    scope = f", only {', '.join(only)}" if only else ""
    out = [f"### Rollback plan: `{plan.stack}` → **{label}** (version {number}{scope})", "",
           "| | deployed | target |", "|---|---|---|"]
    out += [f"| {title} | {cur} | {new} |" for title, cur, new in _summary_rows(plan)]
    if not plan.has_changes:
        return "\n".join([*out, "", "✅ **No changes**: the stack already matches the target."]) + "\n"
    if plan.order:
        out += ["", f"**Order**: {plan.order.get('note')}"]
        rows = _boundary_rows(plan)
        if rows:
            out += ["", "| " + " | ".join(BOUNDARY_HEAD) + " |", "|" + "---|" * len(BOUNDARY_HEAD)]
            out += [f"| {' | '.join(cells)} | {HOLDS[holds][1]} {HOLDS[holds][0]} |" for cells, holds in rows]
    out += ["", f"**{len(plan.steps)} step(s)** ({plan.summary}), applied in this order:", ""]
    out += [f"{s.index}. `{s.op}` **{s.component}** `{s.name}`" for s in plan.steps]
    for s in (s for s in plan.steps if s.alias_move):
        m = s.alias_move or {}
        out += ["", f"**{s.index}. {s.component}** moves `{m['domain']}` from `{m['from']}` "
                    f"({_created(m['from_created'])}) to `{m['to']}` ({_created(m['to_created'])})"]
    for s in (s for s in plan.steps if s.sql):
        out += ["", f"**{s.index}. {s.component} `{s.name}`** runs {len(s.sql)} file(s), in this order:", ""]
        out += [f"- `{name}`" + "".join(f"; {phrase(d)}: {_count(d)}" for d in s.destructive if d["file"] == name)
                for name in s.sql]
        out += [f"- ⚠️ {item}" for item in s.data_loss]
        out += ["", *_sql_details(s)]
    if plan.warnings:
        out += ["", "> [!WARNING]"] + [f"> {w}" for w in plan.warnings]
    if plan.notes:
        out += ["", "> [!NOTE]"] + [f"> {n}" for n in plan.notes]
    out += ["", "<details><summary>Changes per step</summary>", ""]
    for s in plan.steps:
        out.append(f"**{s.index}. {s.component} `{s.name}`** ({s.op})")
        out += _markdown_changes(s) or ["- (no input changes)"]
        out.append("")
    out.append("</details>")
    return "\n".join(out) + "\n"


def to_json(plan: Plan) -> str:
    """Machine-readable steps."""
    return json.dumps(plan.to_dict(), indent=2, sort_keys=True, default=str) + "\n"
