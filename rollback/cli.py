"""The `rollback` command line: parses arguments, renders results, maps errors to exit codes."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from rollback.downs_cli import register as register_downs
from rollback.errors import RollbackError
from rollback.policy_cli import register as register_policy
from rollback.rollout_cli import register as register_rollout
from rollback.targets_cli import register as register_targets
from rollback.watch_cli import register as register_watch

app = typer.Typer(help="Rollback-as-code on Pulumi: preview and apply known-good releases.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
# `rollback sandbox …` and `rollback demo` run the top-level `sandbox` package (the embedded services and the demo),
# which the product never imports: these commands import it inside their bodies only, the one exception the layering
# test (tests/test_layering.py) allows. Registering them from the sandbox through an entry point instead would cost
# every `rollback` start-up the entry-point scan (40-50 ms, a third of `rollback --help`).
sandbox_app = typer.Typer(help="The embedded sandbox of local services (PostgreSQL, Redis, moto, Vercel stand-in).",
                          no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
register_targets(app)
register_rollout(app)
register_policy(app)
register_downs(app)
register_watch(app)

SandboxDir = typer.Option(None, "--dir", envvar="ROLLBACK_SANDBOX_DIR",
                          help="Sandbox directory (default: a fixed per-user temp dir).")


def _sandbox_root(dir_: Path | None) -> Path:
    import sandbox

    return dir_ or sandbox.DEFAULT_DIR


@sandbox_app.command("up")
def sandbox_up(dir_: Path | None = SandboxDir,
               backend: str = typer.Option("file", "--backend",
                                           help="Where the local stack's state lives: file (a directory of the "
                                                "sandbox) or s3 (a bucket of its moto server, shared by every "
                                                "machine that loads its env).")) -> None:
    """Start the sandbox services on 127.0.0.1 (random free ports)."""
    import sandbox

    sb = sandbox.up(_sandbox_root(dir_), backend)
    typer.echo(f"sandbox up in {sb.root}: postgres :{sb.pg['port']}, moto :{sb.moto['port']}, "
               f"vercel stand-in :{sb.vercel['port']}; state: {sb.backend_url.split('?')[0]}")
    typer.echo('load its variables with: eval "$(rollback sandbox env)"')


@sandbox_app.command("env")
def sandbox_env(dir_: Path | None = SandboxDir) -> None:
    """Print the sandbox's connection variables as `export NAME=value` lines."""
    import sandbox

    for name, value in sandbox.load(_sandbox_root(dir_)).env().items():
        typer.echo(f"export {name}={shlex.quote(value)}")


@sandbox_app.command("down")
def sandbox_down(dir_: Path | None = SandboxDir) -> None:
    """Stop every sandbox process and remove its directory (and the `local` stack's state)."""
    import sandbox

    root = _sandbox_root(dir_)
    typer.echo(f"sandbox in {root} stopped and removed" if sandbox.down(root) else f"no sandbox in {root}")


@app.command("decide")
def decide_cmd(
    validation: Path = typer.Option(None, "--validation", help="Validation result JSON (see --schema)."),
    stack: str | None = typer.Option(None, "--stack", help="Stack whose policy (and `rollback:thresholds`) apply."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
    override_reason: str | None = typer.Option(None, "--override-reason", help="Emergency override: reason."),
    approver: str | None = typer.Option(None, "--approver", help="Emergency override: who approved it."),
    schema: bool = typer.Option(False, "--schema", help="Print the validation result JSON Schema and exit."),
    explain: bool = typer.Option(False, "--explain", help="Also print every rule: matched or not, and why."),
) -> None:
    """Decide rollback / fix forward / re-run / data fix from a validation result, by the rollback policy.

    Exit codes: 0 nothing to do, 3 rollback to last-good, 4 fix forward, 5 re-run validation,
    6 data fix + re-validation, 1 bad input. Policy: rollback/policy/default.yaml, changed per stack by
    rollback_stacks/<stack>/policy.yaml and `rollback:thresholds` (errorRate, p95Ms, availability,
    criticalErrors) in Pulumi.<stack>.yaml; see `rollback policy show STACK`.
    """
    from rollback.decide_cli import run

    raise typer.Exit(run(validation, stack=stack, fmt=fmt, override_reason=override_reason, approver=approver,
                         schema=schema, explain=explain))


@app.command("demo")
def demo_cmd(
    report_dir: Path = typer.Option(Path("reports"), "--report-dir", envvar="ROLLBACK_REPORT_DIR",
                                    help="Where the demo's apply reports go."),
    summary: Path | None = typer.Option(None, "--summary", help="Also write the outcome and final state as JSON."),
) -> None:
    """The whole story on a private, temporary sandbox: deploy, incident, decide, roll back, report."""
    from sandbox.demo import run

    raise typer.Exit(run(report_dir, summary))


@app.command("export")
def export_cmd(
    stack: str = typer.Argument(..., help="Stack name."),
    version: int = typer.Option(..., "--version", help="Update number N, as `rollback export` lists it (1 = first)."),
    backend_url: str | None = typer.Option(None, "--backend-url", envvar="PULUMI_BACKEND_URL",
                                           help="file://DIR or s3://BUCKET[/prefix] (default: $PULUMI_BACKEND_URL)."),
    project: str | None = typer.Option(None, "--project", help="Project name (default: found in the backend)."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
) -> None:
    """Write checkpoint N of a self-managed backend as `pulumi stack export` would."""
    from rollback.export import run

    run(stack, version, backend_url=backend_url, project=project, out=out)


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit 1, never a traceback."""
    try:
        app()
    except RollbackError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    except Exception as err:
        engine_errors = sys.modules.get("pulumi.automation.errors")
        if engine_errors is None or not isinstance(err, engine_errors.CommandError):
            raise  # not an engine failure: a bug, shown with its traceback
        from rollback.engine import summarize_engine_error

        typer.echo(f"error: {summarize_engine_error(str(err))}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
