"""CLI verbs that run the engine: status, plan, apply (and their rendering)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

Components = typer.Option(None, "--components", help="Partial rollout: comma-separated subset of "
                          "jobs,snapshot,schema,dbobjects,alias,health (app = alias, db = schema,dbobjects,snapshot).")
Maintenance = typer.Option(False, "--maintenance", help="When no step order keeps the serving app on a schema it "
                           "accepts: serve rollback:maintenanceDeployment while the database changes.")
ALIASES = {"app": ["alias"], "db": ["snapshot", "schema", "dbobjects"], "database": ["snapshot", "schema", "dbobjects"]}
EXIT_NO_CHANGES, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


def parse_components(text: str | None) -> list[str] | None:
    """`app,jobs` -> ['alias', 'jobs'] (None: all of the stack's components)."""
    if not text:
        return None
    out: list[str] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        for name in ALIASES.get(part, [part]):
            if name not in out:
                out.append(name)
    from components.rollout import COMPONENTS
    from rollback.errors import RollbackError

    unknown = [c for c in out if c not in COMPONENTS]
    if unknown:
        raise RollbackError(f"--components: unknown {', '.join(unknown)}; choose from {', '.join(COMPONENTS)}, "
                            "or app, db.")
    return out


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)  # long lines stay whole when piped (and render faster)


def show(con: Any, text: Any) -> None:
    """Print a styled Text as segments: the terminal soft-wraps, rich skips its per-line layout (10x on big plans)."""
    from rich.segment import Segments

    con.print(Segments(text.render(con, end="\n")), end="")


def register(app: typer.Typer) -> None:
    """Add status, plan and apply to the root app."""

    @app.command("status")
    def status_cmd(stack: str = typer.Argument(..., help="Stack name."),
                   fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
        """Deployed version, last-good, drift, rollout in progress, jobs frozen. Read-only."""
        from rollback import command

        info = command.status(stack)
        if fmt == "json":
            typer.echo(json.dumps(info, indent=2, default=str))
            return
        from rich.markup import escape

        con, dep = _console(), info["deployed"] or {}
        con.print(f"[bold]stack {stack}[/bold]")
        con.print(f"  deployed      {dep.get('label', 'nothing')} (version {dep.get('version', '—')}), "
                  f"deployment {dep.get('deployment_id', '—')}, schema {dep.get('schema_version', '—')}")
        good = info["last_good"]
        con.print(f"  last-good     {good['label']} (version {good['version']})" if good else
                  f"  last-good     none: no versions recorded yet (rollback record {stack} --label …)")
        con.print(f"  drift         {escape(', '.join(info['drift'])) or 'none'}")
        con.print(f"  rollout       {info['rollout_in_progress'] or 'none in progress'}")
        last = info["last_update"]
        if last and last["result"] != "succeeded":
            con.print(f"  [red]last update {last['result']}[/red] ({last['started']}): the stack may be between "
                      "versions; `rollback plan` shows what re-applying a target does")
        if info["pending_operations"]:
            con.print(f"  [red]pending operations[/red] {escape(', '.join(info['pending_operations']))}")
        con.print(f"  jobs frozen   {info['jobs_frozen']}")
        held = info.get("kept")
        if held and "unknown" in held:
            con.print(f"  kept values   cannot tell ({held['unknown']})")
        elif held:
            con.print(f"  kept values   {held['waiting']} set(s) waiting ({held['waiting_rows']} row(s), from "
                      f"{', '.join(f'{v} ({n})' for v, n in held['by_version'].items()) or '—'}), "
                      f"{held['restored']} restored, {held['not_restored']} not restored")

    @app.command("plan")
    def plan_cmd(stack: str = typer.Argument(..., help="Stack name."),
                 to: str = typer.Option(..., "--to", help="Target ref: N, label, last-good, previous, -N, before:T."),
                 components: str | None = Components,
                 maintenance: bool = Maintenance,
                 fmt: str = typer.Option("text", "--format", help="text, markdown or json.")) -> None:
        """Preview the rollout to a target. Exit 0 no changes, 2 changes, 1 error."""
        import rollback_stacks
        from rollback import command, plan_format
        from rollback.errors import RollbackError

        if fmt not in ("text", "markdown", "json"):
            raise RollbackError(f"--format: expected text, markdown or json, got {fmt!r}.")
        try:
            record = rollback_stacks.load(stack)  # read and validated once: resolve and the program use it
            the_plan = command.plan(command.resolve(record, to, components=parse_components(components),
                                                    maintenance=maintenance))
        except RollbackError as err:
            if fmt == "markdown":  # the PR comment says why first; the exit code still fails the job
                typer.echo(plan_format.refused_markdown(stack, to, str(err)), nl=False)
            raise
        if fmt == "text":
            show(_console(), plan_format.to_text(the_plan))
        else:
            typer.echo(plan_format.to_markdown(the_plan) if fmt == "markdown" else plan_format.to_json(the_plan),
                       nl=False)
        raise typer.Exit(EXIT_CHANGES if the_plan.has_changes else EXIT_NO_CHANGES)

    @app.command("verify")
    def verify_cmd(stack: str = typer.Argument(..., help="Stack name."),
                   output: Path | None = typer.Option(None, "--output", "-o",
                                                      help="Write the validation result (decide's input)."),
                   failure_type: str | None = typer.Option(None, "--failure-type",
                                                           help="Failure type to record when checks fail "
                                                                "(default: application)."),
                   budget: float | None = typer.Option(None, "--budget-seconds",
                                                       help="Retry budget (default: the version's).")) -> None:
        """Run the deployed version's health gate only. Exit 0 healthy, 1 failing."""
        from rollback import command
        from rollback.errors import RollbackError

        results, validation = command.verify(stack, failure_type=failure_type, budget_seconds=budget)
        from rich.markup import escape

        con = _console()
        for r in results:
            mark = "[green]✓[/green]" if r.ok else "[red]✗[/red]"
            con.print(f"  {mark} {r.kind:<6} {escape(r.name):<28} {escape(r.detail)}")
        if output is not None:
            output.write_text(json.dumps(validation, indent=2) + "\n")
            con.print(f"validation result: {output}")
        failing = [f"{r.name} ({r.detail})" for r in results if not r.ok]
        if failing:
            raise RollbackError(f"{stack}: {len(failing)} health check(s) failing: {'; '.join(failing)}")
        con.print(f"[green]{stack} healthy[/green]: {len(results)} check(s) passed")

    @app.command("rehearse")
    def rehearse_cmd(stack: str = typer.Argument(..., help="Stack name."),
                     to: str = typer.Option(..., "--to", help="Target ref (see plan)."),
                     fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
        """Rollback drill: restore the latest snapshot into a scratch DB, migrate it, compare with the target."""
        from rollback import command
        from rollback.errors import RollbackError

        result = command.rehearse(stack, to)
        if fmt == "json":
            typer.echo(json.dumps(result, indent=2, default=str))
        else:
            con = _console()
            con.print(f"rehearsal of {result['target']} on {stack} from {result['snapshot']}")
            con.print(f"  schema version {result['schema_version']}, fingerprint "
                      f"{'matches' if result['fingerprint_matches'] else '[red]differs[/red]'}, structure "
                      f"{'identical to a clean build' if result['schema_identical'] else '[red]differs[/red]'}")
        if not (result["fingerprint_matches"] and result["schema_identical"]):
            raise RollbackError(f"rehearsal failed: restored schema differs from {result['target']}:\n"
                                f"{result['difference'] or 'fingerprint mismatch'}")

    @app.command("apply")
    def apply_cmd(stack: str = typer.Argument(..., help="Stack name."),
                  to: str = typer.Option(..., "--to", help="Target ref (see plan)."),
                  yes: bool = typer.Option(False, "--yes", "-y", help="Apply without asking (CI)."),
                  components: str | None = Components,
                  allow_data_loss: bool = typer.Option(False, "--allow-data-loss",
                                                       help="Let down migrations drop non-empty tables/columns."),
                  maintenance: bool = Maintenance,
                  cancel_blockers: bool = typer.Option(
                      False, "--cancel-blockers", help="Terminate the sessions that keep a step from its locks "
                      "for one lock_timeout, instead of retrying within the lock budget (rollback:locks)."),
                  reason: str | None = typer.Option(None, "--reason", help="Why: goes into the report."),
                  report_dir: Path | None = typer.Option(None, "--report-dir", envvar="ROLLBACK_REPORT_DIR",
                                                         help="Where reports go (default: reports/)."),
                  decision: Path | None = typer.Option(None, "--decision",
                                                       help="`rollback decide` JSON to attach."),
                  watch: str | None = typer.Option(None, "--watch", help="After a successful apply, watch the "
                                                   "version for this window (e.g. 30m): exit codes as `rollback "
                                                   "watch`.")) -> None:
        """Preview, confirm (or --yes), then apply with live progress and a written report (and, with --watch,
        watch the applied version: see `rollback watch`)."""
        import rollback_stacks
        from rollback import command, plan_format
        from rollback.errors import RollbackError

        con = _console()
        if not yes and not command.is_tty():
            raise RollbackError("refusing to apply without confirmation: stdin is not a terminal; pass --yes.")

        def confirm(the_plan: Any) -> bool:
            show(con, plan_format.to_text(the_plan))
            return yes or typer.confirm("Apply these changes?", default=False)

        def on_step(what: str, step: Any) -> None:
            if what == "progress":  # step: the provider's line, e.g. waiting for Vercel's rollback
                con.print(f"      ⋯ {step}")
                return
            mark = {"start": "[cyan]…[/cyan]", "done": "[green]✓[/green]", "failed": "[red]✗[/red]"}[what]
            took = f" ({step.duration_s:.1f}s)" if what != "start" and step.duration_s is not None else ""
            con.print(f"  {mark} {step.component or '-'}: {step.name} {step.op or ''}{took}")

        attached = json.loads(decision.read_text()) if decision else None
        record = rollback_stacks.load(stack)  # a bad stack name or record is refused before the lock is taken
        if watch is not None:  # a bad window is refused before anything changes
            from rollback.stacks import record_settings
            from rollback_stacks import watch_settings

            watch_settings.parse(record_settings(record).get("watch"), stack=stack, window=watch)
        result = command.apply(record, to, confirm=confirm, reason=reason, components=parse_components(components),
                               allow_data_loss=allow_data_loss, maintenance=maintenance, on_step=on_step,
                               report_dir=report_dir, decision=attached, cancel_blockers=cancel_blockers)
        label = result.rollout.version.label
        if result.report is None:
            show(con, plan_format.to_text(result.plan))
            if watch is None:
                return
        else:
            con.print(f"report: {result.report_dir}")
        if not result.succeeded:
            if result.failed_step:  # the error is `step (Component): its own message`
                raise RollbackError(f"apply of {label} to {stack} failed at step {result.error}")
            raise RollbackError(f"apply of {label} to {stack} failed: {result.error}")
        if result.report is not None:
            con.print(f"[green]applied {label} to {stack}[/green] in {result.report.duration_s:.1f}s")
        if watch is not None:
            from rollback import watch_cli

            raise typer.Exit(watch_cli.run(record, window=watch, interval=None, report_dir=report_dir,
                                           failure_type=None))
