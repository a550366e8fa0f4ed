"""`rollback policy validate|show [STACK]`: the effective rollback policy after the stack's overrides."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from rollback.errors import RollbackError

if TYPE_CHECKING:
    from rollback.policy import Policy

policy_app = typer.Typer(help="The rollback policy `rollback decide` applies (README: Rollback policy).",
                         no_args_is_help=True)
StackArg = typer.Argument(None, help="Stack name (default: the shipped default policy only).")


def register(app: typer.Typer) -> None:
    """Add the `policy` group to the root app."""
    app.add_typer(policy_app, name="policy")


def _effective(stack: str | None, file: Path | None = None) -> tuple[Policy, str]:
    from rollback import stacks
    from rollback.policy import effective, load
    from rollback.policy.load import DEFAULT_FILE, DEFAULT_SHOWN, merge, read

    root = stacks.project_dir()
    if file is not None:
        return merge([read(DEFAULT_FILE, DEFAULT_SHOWN), read(file, str(file))]), str(file)
    if stack is not None:
        from rollback_stacks.store import STACK_NAME

        known = STACK_NAME.match(stack) and ((root / "rollback_stacks" / stack).is_dir()
                                             or (root / f"Pulumi.{stack}.yaml").is_file())
        if not known:
            names = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
            raise RollbackError(f"unknown stack {stack!r}: no rollback_stacks/{stack}/ or Pulumi.{stack}.yaml "
                                f"(stacks: {', '.join(names) or 'none'})")
        return effective(stack, root), f"stack {stack}"
    return load(None, root), "the default policy"


@policy_app.command("validate")
def validate(stack: str | None = StackArg,
             file: Path | None = typer.Option(None, "--file", help="Check this override document (as a stack's "
                                              "policy.yaml would be applied) instead of a stack's.")) -> None:
    """Check the effective policy; a bad document is refused with file:line, the field and the fix (exit 1)."""
    policy, what = _effective(stack, file)
    typer.echo(f"policy of {what} is valid: {len(policy.severity_rules)} severity rules, "
               f"{len(policy.action_rules)} action rules, {len(policy.thresholds)} thresholds "
               f"({' + '.join(policy.sources)})")


@policy_app.command("show")
def show(stack: str | None = StackArg,
         fmt: str = typer.Option("yaml", "--format", help="yaml (with each rule's origin) or json.")) -> None:
    """Print the effective policy after overrides, as one complete policy document."""
    from rollback.policy.show import render_json, render_yaml

    if fmt not in ("yaml", "json"):
        raise RollbackError(f"--format {fmt}: use yaml or json")
    policy, _ = _effective(stack)
    typer.echo(render_yaml(policy) if fmt == "yaml" else render_json(policy), nl=fmt == "json")
