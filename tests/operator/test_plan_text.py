"""The terminal plan: styled on a TTY, plain when piped, and values never read as rich markup."""

from __future__ import annotations

import io

from rich.console import Console

from rollback import plan_format
from rollback.plan import Plan, Step
from rollback.rollout_cli import show


def _plan(steps: list[Step]) -> Plan:
    return Plan(stack="local", target="last-good", current={"version": 3, "label": "v1.5.0"},
                desired={"version": 2, "label": "v1.4.2"}, steps=steps)


def _printed(plan: Plan, *, terminal: bool) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=80, highlight=False, soft_wrap=True, force_terminal=terminal)
    show(console, plan_format.to_text(plan))
    return buf.getvalue()


STEP = Step(index=1, op="delete", component="jobs", name="release-[bold]x[/bold]", type="t",
            changes={"flags.[red]cap[/red]": ("[link=http://evil]a[/link]", "b" * 200)}, warnings=["delete of x"])


def test_piped_plan_is_plain_and_keeps_markup_like_values_literally():
    out = _printed(_plan([STEP]), terminal=False)
    assert "\x1b[" not in out
    assert "  1. - delete jobs release-[bold]x[/bold]\n" in out
    assert "flags.[red]cap[/red]: [link=http://evil]a[/link] → " + "b" * 59 + "…\n" in out
    assert out.endswith("warning: delete of x\n")
    assert out.splitlines()[0] == "Plan for stack local → v1.4.2 (version 2, ref last-good)"


def test_terminal_plan_is_styled_and_long_lines_stay_whole():
    out = _printed(_plan([STEP]), terminal=True)
    assert "\x1b[31m- delete\x1b[0m" in out and "\x1b[1mjobs\x1b[0m" in out
    assert "b" * 59 + "…" in out  # soft-wrapped: one line, the terminal wraps it


def test_no_changes_says_so():
    out = _printed(_plan([]), terminal=False)
    assert out.endswith("No changes. The stack already matches the target.\n")
