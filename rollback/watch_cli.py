"""`rollback watch` (and `rollback apply --watch`): settings, live progress lines, the outcome and its exit code."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rollback.watch_checks import CheckState, Reading
    from rollback_stacks.store import StackRecord

FAILURE_TYPES = ("infrastructure", "application", "test_environment", "data")
MARKS = {"ok": "[green]✓[/green]", "out": "[yellow]·[/yellow]", "fail": "[red]✗[/red]", "unmeasured": "[yellow]?[/]",
         "pending": "…"}


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"


def run(record: StackRecord, *, window: str | None, interval: str | None, report_dir: Path | None,
        failure_type: str | None) -> int:
    """Watch the stack's deployed version with live progress; print the outcome; return the exit code."""
    import os

    from rich.console import Console
    from rich.markup import escape

    from rollback.errors import RollbackError
    from rollback.stacks import record_settings
    from rollback.watch import Watch
    from rollback_stacks import watch_settings

    kind = failure_type or "application"
    if kind not in FAILURE_TYPES:
        raise RollbackError(f"--failure-type: got {kind!r}; expected one of {', '.join(FAILURE_TYPES)}; fix: e.g. "
                            "--failure-type application")
    settings = watch_settings.parse(record_settings(record).get("watch"), stack=record.name, window=window,
                                    interval=interval)
    con = Console(highlight=False, soft_wrap=True)
    total = int(settings.window / settings.interval) + 1

    def progress(n: int, t: float, readings: list[tuple[CheckState, Reading]]) -> None:
        shown = "  ".join(f"{MARKS[r.state]} {escape(s.probe.name)} {_value(s, r)}" for s, r in readings)
        con.print(f"  [{n:>{len(str(total))}}/{total}] {_clock(t)}/{_clock(settings.window)}  {shown}")

    folder = report_dir or Path(os.environ.get("ROLLBACK_REPORT_DIR", "reports"))
    con.print(f"watching {record.name} for {watch_settings.shown(settings.window)}, every "
              f"{watch_settings.shown(settings.interval)} (no lock held; a rollout ends the watch)")
    result = Watch(record, settings, folder, failure_type=kind, on_sample=progress).run()
    v = result.version
    con.print(f"report: {result.report_dir}")
    if result.outcome == "passed":
        con.print(f"[green]watch passed[/green]: {v.label} (version {v.version}) held for "
                  f"{watch_settings.shown(settings.window)} ({result.samples} samples); recorded known-good")
    elif result.outcome == "interrupted":
        con.print(f"[yellow]watch interrupted[/yellow]: {escape(result.reason)}; nothing recorded (exit "
                  f"{result.exit_code})")
    else:
        from rollback.decide_render import render_text

        con.print(f"[red]watch {result.outcome}[/red]: {v.label} (version {v.version}): {escape(result.reason)}")
        if result.decision is not None:
            con.print(escape(render_text(result.decision)))
        con.print(f"exit {result.exit_code}; the validation result and decision are in the report "
                  "(validation.json, decision.json)")
    return result.exit_code


def _value(state: CheckState, reading: Reading) -> str:
    x = reading.measured if reading.measured is not None else reading.value
    if x is None:
        return "—"
    return f"{x:.4g}/min" if state.probe.measure == "rate" else f"{x:.4g}"


def register(app: typer.Typer) -> None:
    """Add `watch` to the root app."""

    @app.command("watch")
    def watch_cmd(stack: str = typer.Argument(..., help="Stack name."),
                  window: str | None = typer.Option(None, "--for", help="The window, e.g. 15m, 30m, 2h (default: "
                                                    "rollback:watch.window, else 15m)."),
                  interval: str | None = typer.Option(None, "--interval", help="Between samples, e.g. 10s "
                                                      "(default: rollback:watch.interval, else 10s)."),
                  failure_type: str | None = typer.Option(None, "--failure-type", help="Failure type a failing "
                                                          "check records for decide (default: application)."),
                  report_dir: Path | None = typer.Option(None, "--report-dir", envvar="ROLLBACK_REPORT_DIR",
                                                         help="Where reports go (default: reports/).")) -> None:
        """Sample the deployed version's health over a window: passed records it known-good (exit 0); failed
        exits with the `rollback decide` decision (3 rollback, 4 fix forward, 5 re-run, 6 data fix); interrupted
        by a rollout records nothing (exit 7); 1 bad input."""
        import rollback_stacks

        record = rollback_stacks.load(stack)
        raise typer.Exit(run(record, window=window, interval=interval, report_dir=report_dir,
                             failure_type=failure_type))
