"""`rollback decide`: read the validation result, decide by the stack's policy, print the decision, exit its code."""

from __future__ import annotations

import json
from pathlib import Path

from rollback.decide import Override, decide, load_validation, validation_schema
from rollback.decide_render import render_explain, render_text
from rollback.errors import RollbackError
from rollback.policy import effective


def run(validation: Path | None, *, stack: str | None = None, fmt: str = "text", override_reason: str | None = None,
        approver: str | None = None, schema: bool = False, explain: bool = False,
        project_dir: Path | None = None) -> int:
    """The `rollback decide` command: print the decision (and with explain every rule), return its exit code."""
    import typer

    from rollback import stacks

    if schema:
        typer.echo(json.dumps(validation_schema(), indent=2))
        return 0
    if fmt not in ("text", "json"):
        raise RollbackError(f"--format {fmt}: use text or json")
    if validation is None:
        raise RollbackError("--validation FILE is required (a validation result JSON; see --schema)")
    if bool(override_reason) != bool(approver):
        raise RollbackError("an emergency override needs both --override-reason and --approver")
    result = load_validation(validation)
    stack = stack or result.stack
    policy = effective(stack, project_dir or stacks.project_dir())
    override = Override(reason=override_reason, approver=approver) if override_reason and approver else None
    decision = decide(result.model_copy(update={"stack": stack}), policy=policy, override=override)
    if fmt == "json":
        typer.echo(decision.model_dump_json(indent=2, exclude=None if explain else {"explain"}))
    else:
        typer.echo((render_explain(decision) + "\n" if explain else "") + render_text(decision))
    return decision.exit_code
