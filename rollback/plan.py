"""A rollout plan: the engine's preview steps in dependency order, with from → to per changed input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulumi.automation import EngineEvent

COMPONENT_PREFIX = "rollback:components:"
HIDDEN_INPUTS = {"__provider", "__pulumi_dynamic_provider", "sql", "checksums", "jobs_frozen_by", "check_id",
                 "after_maintenance", "opened", "locks", "downs", "rollout", "from_label", "retry_budget", "retries"}
RELEASE_TYPE = COMPONENT_PREFIX + "Release"
DESTRUCTIVE_OPS = {"delete", "replace", "create-replacement", "delete-replaced"}


@dataclass
class Step:
    """One engine step of the rollout."""

    index: int
    op: str
    component: str
    name: str
    type: str
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sql: dict[str, list[str]] = field(default_factory=dict)  # a schema step's files, in run order: their statements
    data_loss: list[str] = field(default_factory=list)
    # what the files destroy (components.providers.data_loss): kind, object, drops, rows now (None: absent or unknown)
    destructive: list[dict[str, Any]] = field(default_factory=list)
    alias_move: dict[str, Any] | None = None  # domain, from/to deployment ids and their creation dates


@dataclass
class Plan:
    """What applying a target would do to a stack."""

    stack: str
    target: str
    current: dict[str, Any]
    desired: dict[str, Any]
    steps: list[Step] = field(default_factory=list)
    order: dict[str, Any] | None = None  # the program's compatibility order (components.compatibility.Order)
    protection: dict[str, Any] | None = None  # which way back protects the database steps (rollback:snapshot)

    @property
    def has_changes(self) -> bool:
        return bool(self.steps)

    @property
    def summary(self) -> str:
        """One line per stack: `3 to update, 1 data-loss step`."""
        ops = dict.fromkeys(s.op for s in self.steps)
        parts = [f"{sum(1 for s in self.steps if s.op == op)} to {op}" for op in ops]
        loss = sum(1 for s in self.steps if s.data_loss)
        parts += [f"{loss} data-loss step{'s' if loss > 1 else ''}"] if loss else []
        return ", ".join(parts) or "no changes"

    @property
    def warnings(self) -> list[str]:
        out = [w for s in self.steps for w in s.warnings]
        if self.has_changes and self.order and self.order.get("safe") is None:
            out.append(f"order not proven safe: {self.order.get('note')}")
        return out

    @property
    def notes(self) -> list[str]:
        """What protects the rollout, and what the steps do beyond their diff (a production rollback's lasting effect),
        once each."""
        first = [f"snapshot: {self.protection['note']}"] if self.protection and self.protection.get("note") and \
            any(s.component in ("SchemaVersion", "DatabaseObjects") for s in self.steps) else []
        return list(dict.fromkeys(first + [n for s in self.steps for n in s.notes]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the `--format json` output)."""
        # built field by field: dataclasses.asdict deep-copies every value, which dominated --format json
        steps = [{"index": s.index, "op": s.op, "component": s.component, "name": s.name, "type": s.type,
                  "changes": {k: {"from": a, "to": b} for k, (a, b) in s.changes.items()},
                  "warnings": list(s.warnings), **({"sql": _files(s)} if s.sql else {}),
                  **({"alias_move": s.alias_move} if s.alias_move else {})} for s in self.steps]
        return {"stack": self.stack, "target": self.target, "summary": self.summary, "current": dict(self.current),
                "desired": dict(self.desired), "steps": steps, "has_changes": self.has_changes,
                "order": self.order, "protection": self.protection,
                "warnings": self.warnings, **({"notes": self.notes} if self.notes else {})}


def _files(step: Step) -> list[dict[str, Any]]:
    """A schema step's SQL for JSON: a list, so the run order survives key sorting."""
    return [{"file": name, "statements": stmts,
             "destructive": [{k: v for k, v in d.items() if k != "file"} for d in step.destructive
                             if d["file"] == name]} for name, stmts in step.sql.items()]


def component_of(urn: str) -> str:
    """The innermost rollback component a resource belongs to, from its URN's type chain."""
    type_chain = urn.split("::")[2] if urn.count("::") >= 3 else ""
    components = [t[len(COMPONENT_PREFIX):] for t in type_chain.split("$") if t.startswith(COMPONENT_PREFIX)]
    return components[-1] if components else ""


def _visible(inputs: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (inputs or {}).items() if k not in HIDDEN_INPUTS}


def step_from_event(index: int, event: EngineEvent) -> Step | None:
    """A Step for a changing custom resource's pre-event; None for no-op steps and components."""
    pre = event.resource_pre_event
    if pre is None or pre.metadata.op in ("same", "read") or pre.metadata.type.startswith(COMPONENT_PREFIX):
        return None
    if pre.metadata.type == "pulumi:pulumi:Stack" or pre.metadata.type.startswith("pulumi:providers:"):
        return None
    meta = pre.metadata
    op = getattr(meta.op, "value", str(meta.op))
    old = _visible(meta.old.inputs if meta.old else None)
    new = _visible(meta.new.inputs if meta.new else None)
    keys = sorted(meta.diffs or set(old) | set(new))  # the engine's diffs come in no fixed order
    changes: dict[str, tuple[Any, Any]] = {}
    for key in keys:
        if key not in HIDDEN_INPUTS:
            changes.update(_leaf_changes(key, old.get(key), new.get(key)))
    changes.pop("plan.destructive", None)  # shown with each file (Step.destructive)
    changes.pop("plan.generated", None)  # shown as the step's SQL
    changes.pop("deployment_created", None)  # shown with the alias move; equal stand-in timestamps hid it, by chance
    for key in ("plan.keeps", "plan.not_kept", "plan.restores"):
        changes.pop(key, None)  # shown as the step's notes (keep_notes)
    name = meta.urn.rsplit("::", 1)[-1]
    warnings = [f"{op} of {name}"] if op in DESTRUCTIVE_OPS else []
    plan: dict[str, Any] = new["plan"] if isinstance(new.get("plan"), dict) else {}
    data_loss = plan.get("data_loss")
    warnings += [f"data loss in {name}: {item}" for item in data_loss or []]
    if isinstance(plan.get("unknown"), str) and ":" in plan["unknown"]:
        warnings.append(f"{name} could not be previewed: {plan['unknown']}")
    if plan.get("refused"):
        warnings.append(f"{name} will refuse to run: {plan['refused']}")
        changes.pop("plan.refused", None)
    raw = (meta.new.inputs if meta.new else None) or {}
    files = plan.get("files")
    warnings += blocker_warnings(name, raw)
    frozen = frozen_notes(name, plan.get("generated"))
    warnings += [f"{name}: {frozen[1]}"] if frozen[1] else []
    return Step(index=index, op=op, component=component_of(meta.urn), name=meta.urn.rsplit("::", 1)[-1],
                type=meta.type, changes=changes, warnings=warnings,
                notes=production_notes(op, new) + lock_notes(op, raw) + frozen[0] + keep_notes(name, plan),
                sql=statements(raw.get("sql"), files, plan.get("generated")),
                data_loss=list(data_loss or []), destructive=list(plan.get("destructive") or []),
                alias_move=alias_move(old, new) if "deployment_id" in changes else None)


def keep_notes(name: str, plan: Mapping[str, Any]) -> list[str]:
    """What a schema step keeps aside before it destroys it, what it cannot keep, and what it puts back (names and
    counts only: components.providers.keep)."""
    def listed(items: Any) -> str:
        return "; ".join(f"{d['file']}: {d['drops']} ({d['rows']} {d['unit']})" if d.get("rows") is not None
                         else f"{d['file']}: {d['drops']} (cannot tell)" for d in items)

    out = [f"{name} keeps aside in rollback_control, in the transaction that destroys them, and restores when this "
           f"version is released again: {listed(plan['keeps'])}"] if plan.get("keeps") else []
    out += [f"{name} cannot keep (restore the snapshot to get these back): {listed(plan['not_kept'])}"] \
        if plan.get("not_kept") else []
    for s in plan.get("restores") or ():
        what = f"columns {', '.join(s['columns'])} of {s['relation']}" if s.get("columns") and not s.get("keyless") \
            else f"rows of {s['relation']}"
        out.append(f"{name} restores {what}: {s['rows']} kept row(s) of set {s['id']} (kept from "
                   f"{s.get('from_version') or 'an earlier version'} by the down of schema version "
                   f"{s['schema_version']}), by key, after the up and before the alias moves; rows written since "
                   "keep theirs, rows gone are reported")
    return out


def alias_move(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    """An alias step's move: the domain, the deployment it leaves and the one it takes, with their creation dates."""
    if "alias" not in new:
        return None
    return {"domain": new["alias"], "from": old.get("deployment_id"), "from_created": old.get("deployment_created"),
            "to": new.get("deployment_id"), "to_created": new.get("deployment_created")}


def frozen_notes(name: str, generated: Any) -> tuple[list[str], str | None]:
    """(notes, warning) of a generated way back about frozen downs (rollback_stacks.downs): the frozen down it runs
    as written, or why the one for this move is not used."""
    if not isinstance(generated, dict):
        return [], None
    used = [f"{name} runs the frozen down {generated['frozen']} as written (reviewed SQL, no generation)"] \
        if generated.get("frozen") and not generated.get("refused") else []
    skipped = generated.get("frozen_skipped")
    return used, skipped if isinstance(skipped, str) else None


def generated_statements(generated: Any) -> list[str]:
    """A generated way back's statements, each led by a comment with its hazards and timeouts."""
    if not isinstance(generated, dict):
        return []
    out = []
    for stmt in generated.get("statements") or []:
        hazards = "; ".join(f"{h.get('kind')}: {h.get('message')}" for h in stmt.get("hazards") or [])
        where = "" if stmt.get("transactional", True) else ", outside a transaction"
        head = (f"-- statement_timeout {stmt.get('statement_timeout_ms')}ms, lock_timeout "
                f"{stmt.get('lock_timeout_ms')}ms{where}" + (f"; hazards: {hazards}" if hazards else ""))
        out.append(f"{head}\n{str(stmt.get('sql', '')).strip()}")
    return out


def statements(sql: Any, files: Any, generated: Any = None) -> dict[str, list[str]]:
    """The statements each file of a schema step runs, in order (a file the parser rejects: its whole text; the
    generated way back: its statements with their hazards)."""
    from pglast import parser, split

    from components.providers.migrations import GENERATED

    if not isinstance(sql, dict) or not isinstance(files, list):
        return {}
    out: dict[str, list[str]] = {}
    for name in files:
        if name == GENERATED:
            out[name] = generated_statements(generated)
            continue
        text = sql.get(name)
        if isinstance(text, str):
            try:
                out[name] = [stmt.strip() for stmt in split(text)]
            except parser.ParseError:
                out[name] = [text.strip()]
    return out


def blocker_warnings(name: str, inputs: Mapping[str, Any]) -> list[str]:
    """Sessions that would block the step right now (its check looked), each with what makes it a blocker."""
    from components.providers.locks import Blocker

    plan: dict[str, Any] = inputs["plan"] if isinstance(inputs.get("plan"), dict) else {}
    locks: dict[str, Any] = inputs["locks"] if isinstance(inputs.get("locks"), dict) else {}
    timeout = f" (lock_timeout {locks['timeout_ms']:.0f}ms)" if locks.get("timeout_ms") else ""
    return [f"{name} would wait for its locks{timeout}: {Blocker(**b).describe()}"
            for b in plan.get("blockers") or [] if isinstance(b, dict)]


CANCEL_NOTE = ("--cancel-blockers: a session that keeps a step from its locks for one lock_timeout is terminated "
               "(pg_terminate_backend); the report names each one")


def lock_notes(op: str, inputs: Mapping[str, Any]) -> list[str]:
    """That this apply terminates the sessions in its way (the operator's --cancel-blockers)."""
    locks = inputs.get("locks")
    return [CANCEL_NOTE] if op != "delete" and isinstance(locks, dict) and locks.get("cancel_blockers") else []


PRODUCTION_NOTES = {
    "rollback": "production domains of Vercel project {project}: Instant Rollback to {dep}; the project stays "
                "rolled back, so a new production deployment does not take them until a roll forward (promote)",
    "promote": "production domains of Vercel project {project}: promote {dep}; new production deployments take "
               "them again (auto-assignment on)",
    "production": "production domains of Vercel project {project}: {dep} by Instant Rollback if its version is "
                  "older than the one last applied, else by promote",
}


def production_notes(op: str, inputs: dict[str, Any]) -> list[str]:
    """What a production-domain step does to the project: a rollback leaves auto-assignment off."""
    via = inputs.get("via")
    if op == "delete" or via not in PRODUCTION_NOTES or not inputs.get("project_id"):
        return []
    return [PRODUCTION_NOTES[via].format(project=inputs["project_id"], dep=inputs.get("deployment_id"))]


def _leaf_changes(key: str, old: Any, new: Any) -> dict[str, tuple[Any, Any]]:
    """from → to per changed leaf, one mapping level deep (flags.cap: 3 → 5 rather than two whole dicts)."""
    if old == new:
        return {}
    if isinstance(old, dict) and isinstance(new, dict):
        return {f"{key}.{k}": (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}
    return {key: (old, new)}


def drift_from_events(events: list[EngineEvent]) -> list[str]:
    """Resources a refresh preview found changed outside the engine (`update name` / `delete name`)."""
    out: list[str] = []
    for event in events:
        done = event.res_outputs_event
        op = getattr(done.metadata.op, "value", "") if done else ""
        if done and op in ("update", "delete") and not done.metadata.type.startswith(COMPONENT_PREFIX):
            out.append(f"{op} {done.metadata.urn.rsplit('::', 1)[-1]}")
    return out


def steps_from_events(events: list[EngineEvent]) -> list[Step]:
    """Changing steps in the order the engine emitted them (dependency order)."""
    steps: list[Step] = []
    for event in events:
        step = step_from_event(len(steps) + 1, event)
        if step is not None:
            steps.append(step)
    return steps


def order_from_events(events: list[EngineEvent], key: str = "order") -> dict[str, Any] | None:
    """The order the program chose (or another of its mappings: `protection`), from the Release component's outputs
    (present in previews too)."""
    for event in reversed(events):
        done = event.res_outputs_event
        if done and done.metadata.type == RELEASE_TYPE and done.metadata.new:
            order = (done.metadata.new.outputs or {}).get(key)
            return order if isinstance(order, dict) else None
    return None
