"""`rollback demo`: the whole story on a private sandbox: deploy, incident, decide, roll back, report.

The demo starts its own sandbox in a fresh temp dir (never a running one), runs the real `rollback`
verbs against it as subprocesses (what you see is what you would type), and always stops it again.
It reads the stack record under rollback_stacks/ but never writes there, so it can run any number of times.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

import sandbox as sandbox_mod
from rollback.engine import REPO_ROOT
from rollback.errors import RollbackError
from rollback.redact import Redactor

STACK = "local"
GOOD, CANDIDATE = "v1.4.2", "v1.5.0"
ALIAS = "app.example.test"
FLOOD_JOBS = 120
INCIDENT_METRICS = {"error_rate": 0.12, "latency_p95_ms": 3400, "availability": 0.995}
SANDBOX_TITLE = "1 · sandbox: PostgreSQL, moto, Vercel stand-in (private, temporary)"
VERIFY_BUDGET = "1"  # one reading, not the deploy gate's 30 s of retries
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
EXIT_ROLLBACK, EXIT_CHANGES = 3, 2


class DemoError(RollbackError):
    """A step of the demo did not do what the story needs."""


@dataclass
class Demo:
    """The demo's state: console, its sandbox, the environment its verbs run with, where files go."""

    console: Console
    sandbox: sandbox_mod.Sandbox
    env: dict[str, str]
    work: Path
    report_dir: Path
    redactor: Redactor
    phases: list[tuple[str, float]] = field(default_factory=list)

    def phase(self, title: str) -> AbstractContextManager[None]:
        """A heading, then the phase; its wall time is kept for the closing summary."""
        return phase(self.console, self.phases, title)

    def say(self, text: str) -> None:
        """One line of narration (rich markup allowed)."""
        self.console.print(self.redactor.text(text), highlight=False)

    def connect(self) -> Any:
        """An autocommit connection to the sandbox's app database."""
        import psycopg

        return psycopg.connect(self.sandbox.database_url, autocommit=True, connect_timeout=10)


@contextmanager
def phase(console: Console, phases: list[tuple[str, float]], title: str) -> Iterator[None]:
    """Print a phase heading, run the block, record its wall time."""
    console.rule(f"[bold]{title}[/bold]")
    start = time.monotonic()
    yield
    phases.append((title, time.monotonic() - start))


# --- running the real CLI -------------------------------------------------------------------------------------------

def _rollback_argv() -> list[str]:
    """How to start the `rollback` console script with this interpreter."""
    script = Path(sys.executable).parent / "rollback"
    return [str(script)] if script.is_file() else [sys.executable, "-c", "from rollback.cli import main; main()"]


def _child_env(console: Console, env: dict[str, str]) -> dict[str, str]:
    """Subprocesses stream line by line; colour only when the demo itself writes to a colour terminal."""
    out = {**env, "PYTHONUNBUFFERED": "1", "COLUMNS": str(console.width)}
    if console.is_terminal and not console.no_color and console.color_system:
        out["FORCE_COLOR"] = "1"
    return out


def cli(demo: Demo, *args: str, expect: tuple[int, ...] = (0,), show: Callable[[str], bool] | None = None,
        on_line: Callable[[str], None] | None = None, quiet: bool = False) -> tuple[int, list[str]]:
    """Run `rollback args`, streaming its (redacted) output; a code outside `expect` stops the demo."""
    shown = " ".join(a if a.startswith("-") or " " not in a else repr(a) for a in args)
    if not quiet:
        demo.say(f"[bold cyan]$ rollback {shown}[/bold cyan]")
    proc = subprocess.Popen([*_rollback_argv(), *args], cwd=REPO_ROOT, env=_child_env(demo.console, demo.env),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            encoding="utf-8", errors="replace")
    lines: list[str] = []
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = demo.redactor.text(raw.rstrip("\n"))
        plain = ANSI.sub("", line)
        lines.append(plain)
        if not quiet and (show is None or show(plain)):
            demo.console.print(Text.from_ansi(line), soft_wrap=True)
        if on_line is not None:
            on_line(plain)
    code = proc.wait()
    if code not in expect:
        last = next((ln.strip() for ln in reversed(lines) if ln.strip()), "no output").removeprefix("error: ")
        raise DemoError(f"`rollback {args[0]}` exited {code} (expected {'/'.join(map(str, expect))}): {last}")
    return code, lines


def progress_only(starts: bool) -> Callable[[str], bool]:
    """Filter for apply's output: progress lines and the result (the plan was shown already)."""
    marks = ("✓", "✗", "…") if starts else ("✓", "✗")

    def keep(plain: str) -> bool:
        text = plain.strip()
        return text.startswith(marks) or text.startswith(("report:", "applied", "error"))

    return keep


def reports_in(report_dir: Path) -> set[Path]:
    """The report directories apply has written so far."""
    return {p.parent for p in report_dir.glob("*/report.json")}


def new_report(report_dir: Path, before: set[Path]) -> Path:
    """The one report directory written since `before` (apply's `report: DIR` line may be wrapped)."""
    fresh = sorted(reports_in(report_dir) - before)
    if len(fresh) != 1:
        raise DemoError(f"expected one new report in {report_dir}, found {len(fresh)}")
    return fresh[0]


# --- the example app: data, incident, triage --------------------------------------------------------------------

SEED_SQL = """
WITH users(uid, cap) AS (VALUES
  ('00000000-0000-4000-8000-000000000001'::uuid, 5), ('00000000-0000-4000-8000-000000000002'::uuid, 5),
  ('00000000-0000-4000-8000-000000000003'::uuid, 3), ('00000000-0000-4000-8000-000000000004'::uuid, 10))
INSERT INTO public.ai_consent (user_id, frequency_cap) SELECT uid, cap FROM users;
INSERT INTO public.feed_items (user_id, item_id, score, created_at)
  SELECT c.user_id, gen_random_uuid(), random(), now() - make_interval(mins => g)
  FROM public.ai_consent c CROSS JOIN generate_series(1, 6) g;
INSERT INTO public.earnings_events (user_id, amount_cents)
  SELECT c.user_id, a FROM public.ai_consent c CROSS JOIN (VALUES (1250), (830), (4999)) v(a);
INSERT INTO public.notifications (user_id, channel, kind, title, idempotency_key)
  SELECT user_id, 'email', 'weekly_digest', 'Your week in review', 'digest-' || user_id FROM public.ai_consent;
INSERT INTO public.worker_jobs (kind, payload, status, attempts, updated_at)
  SELECT k, jsonb_build_object('user_id', c.user_id), 'done', 1, now() - interval '10 minutes'
  FROM public.ai_consent c CROSS JOIN (VALUES ('feed_refresh'), ('earnings_rollup')) j(k);
INSERT INTO public.worker_jobs (kind, payload, next_run_at)
  SELECT 'feed_refresh', jsonb_build_object('user_id', user_id), now() + interval '1 minute' FROM public.ai_consent;
"""

COUNTS_SQL = """SELECT (SELECT count(*) FROM public.ai_consent), (SELECT count(*) FROM public.feed_items),
  (SELECT count(*) FROM public.earnings_events), (SELECT count(*) FROM public.earnings_ledger),
  (SELECT count(*) FROM public.worker_jobs), (SELECT count(*) FROM public.notifications)"""

# v1.5.0's workers pick up a burst of notification sends; the mail provider rate-limits them, and each
# failure goes through the deployed worker_fail_job (v1.5.0: retry with backoff, dead-letter at max_attempts).
BURST_SQL = """
INSERT INTO public.worker_jobs (kind, payload)
  SELECT 'notif_send', jsonb_build_object('user_id', c.user_id, 'n', g)
  FROM generate_series(1, %(jobs)s) g
  JOIN (SELECT user_id, row_number() OVER () - 1 AS i FROM public.ai_consent) c ON c.i = g %% 4
"""
FLOOD_SQL = """
DO $$
DECLARE j uuid;
BEGIN
  FOR attempt IN 1..5 LOOP
    FOR j IN UPDATE public.worker_jobs SET status = 'running', started_at = now()
             WHERE kind = 'notif_send' AND status = 'pending' RETURNING id LOOP
      PERFORM public.worker_fail_job(j, 'smtp 421 4.7.0: too many messages, slow down');
    END LOOP;
  END LOOP;
END $$;
"""

# The operator's triage once the rollback has frozen the workers: the dead-lettered jobs go back to
# worker_jobs, held as paused (so nothing runs them under v1.5.0's code); the release step resumes them.
TRIAGE_SQL = """
WITH dead AS (DELETE FROM public.dead_letter_queue RETURNING job_id)
UPDATE public.worker_jobs SET status = 'paused', attempts = 0, error = NULL, started_at = NULL, updated_at = now()
WHERE id IN (SELECT job_id FROM dead)
"""


def load_example_data(demo: Demo) -> None:
    """A few users, their feed, earnings (ledger kept by its trigger), notifications and worker jobs."""
    with demo.connect() as conn:
        conn.execute(SEED_SQL)
        users, feed, events, ledger, jobs, notes = conn.execute(COUNTS_SQL).fetchone()
    demo.say(f"loaded example data: {users} users, {feed} feed items, {events} earnings events "
             f"(ledger: {ledger} rows, kept by the earnings_events_to_ledger trigger), {notes} notifications, "
             f"{jobs} worker jobs")


def flood_dead_letters(demo: Demo) -> int:
    """Run a burst of failing notif_send jobs through the deployed worker_fail_job; returns the DLQ size."""
    with demo.connect() as conn:
        conn.execute(BURST_SQL, {"jobs": FLOOD_JOBS})
        conn.execute(FLOOD_SQL)
        return int(conn.execute("SELECT count(*) FROM public.dead_letter_queue").fetchone()[0])


def set_metrics(demo: Demo, deployment: str, metrics: dict[str, float]) -> None:
    """What the metrics backend reports for a deployment (the stand-in serves it to the health gate)."""
    import httpx

    resp = httpx.patch(f"{demo.sandbox.vercel_api}/_standin/deployments/{deployment}", json={"meta": {"metrics":
                       metrics}}, headers={"Authorization": f"Bearer {demo.sandbox.secrets['vercel_token']}"},
                       timeout=10)
    if resp.status_code != 200:
        raise DemoError(f"could not set the metrics of {deployment}: HTTP {resp.status_code}")


def triage_dead_letters(demo: Demo) -> int:
    """Requeue every dead-lettered job as paused and empty the DLQ; returns how many."""
    with demo.connect() as conn:
        requeued: int = conn.execute(TRIAGE_SQL).rowcount
        return requeued


def final_state(demo: Demo) -> dict[str, Any]:
    """What is live now: schema version, alias target, flags, freeze, jobs and DLQ."""
    import httpx

    with demo.connect() as conn:
        schema, dirty = conn.execute("SELECT version, dirty FROM public.schema_migrations").fetchone()
        flags = dict(conn.execute("SELECT name, value FROM rollback_control.flags ORDER BY name").fetchall())
        frozen = conn.execute("SELECT frozen FROM rollback_control.rollout").fetchone()
        jobs = dict(conn.execute("SELECT status, count(*) FROM public.worker_jobs GROUP BY 1 ORDER BY 1").fetchall())
        dlq = conn.execute("SELECT count(*) FROM public.dead_letter_queue").fetchone()[0]
        fail_job = conn.execute("SELECT prosrc FROM pg_proc WHERE proname = 'worker_fail_job'").fetchone()[0]
    alias = httpx.get(f"{demo.sandbox.vercel_api}/v4/aliases/{ALIAS}", timeout=10,
                      headers={"Authorization": f"Bearer {demo.sandbox.secrets['vercel_token']}"}).json()
    return {"schema_version": int(schema), "schema_dirty": bool(dirty), "alias": alias.get("deploymentId"),
            "flags": flags, "jobs_frozen": bool(frozen and frozen[0]), "jobs": jobs, "dead_letter_queue": int(dlq),
            "worker_fail_job_retries": "max_attempts" in fail_job}


def recorded(label: str) -> dict[str, Any]:
    """What the stack record declares for a version: number, deployment, schema, flags."""
    import rollback_stacks

    v = rollback_stacks.load(STACK).find(label)
    return {"version": v.version, "label": v.label, "deployment_id": v.app.deployment_id if v.app else None,
            "schema_version": v.database.schema_version if v.database else None,
            "flags": dict(v.jobs.flags) if v.jobs else {}}


# --- the story ------------------------------------------------------------------------------------------------------

def phase_sandbox(demo: Demo) -> None:
    """Say what is running where."""
    sb = demo.sandbox
    demo.say(f"private sandbox in {sb.root} (removed at the end): PostgreSQL :{sb.pg['port']}, "
             f"moto (S3) :{sb.moto['port']}, Vercel stand-in :{sb.vercel['port']}; state backend file://…/state")
    demo.say(f"deployments in the stand-in: dpl_v130, dpl_v142, dpl_v150 (healthy metrics); reports go to "
             f"{demo.report_dir}")


def phase_known_good(demo: Demo) -> None:
    """Show the record, deploy v1.4.2, load data, and verify it healthy."""
    demo.say(f"The stack record (rollback_stacks/{STACK}/) already holds {GOOD} as known-good: it is `last-good`.")
    cli(demo, "targets", "list", STACK)
    cli(demo, "apply", STACK, "--to", GOOD, "--yes", "--reason", f"demo: release {GOOD}",
        show=progress_only(starts=False))
    load_example_data(demo)
    cli(demo, "verify", STACK, "--budget-seconds", VERIFY_BUDGET)


def phase_incident(demo: Demo) -> Path:
    """Deploy v1.5.0, then break it with a burst of failing jobs; verify fails. Returns the validation file."""
    demo.say(f"{CANDIDATE} (candidate): migrations 0004 + 0005, new worker_fail_job (retry with backoff) and "
             "notif_send (digests), deployment dpl_v150, changed flags.")
    cli(demo, "apply", STACK, "--to", CANDIDATE, "--yes", "--reason", f"demo: release {CANDIDATE}",
        show=progress_only(starts=False))
    demo.say(f"[yellow]incident:[/yellow] the mail provider rate-limits a burst of {FLOOD_JOBS} notif_send jobs; "
             f"{CANDIDATE}'s worker_fail_job retries each 5 times, then dead-letters it …")
    dead = flood_dead_letters(demo)
    set_metrics(demo, "dpl_v150", INCIDENT_METRICS)
    demo.say(f"  dead_letter_queue: {dead} jobs in seconds (> 100/min is a flood); dpl_v150 now reports "
             f"error rate {INCIDENT_METRICS['error_rate']:.0%}, p95 {INCIDENT_METRICS['latency_p95_ms']} ms")
    validation = demo.work / "validation.json"
    cli(demo, "verify", STACK, "-o", str(validation), "--budget-seconds", VERIFY_BUDGET, expect=(1,))
    demo.say("verify exits 1 and names the failing checks: that is the signal `rollback decide` reads.")
    return validation


def phase_decide(demo: Demo, validation: Path) -> tuple[Path, str]:
    """`rollback decide` must choose rollback to last-good; returns the decision file and a reason line."""
    cli(demo, "decide", "--validation", str(validation), "--stack", STACK, expect=(EXIT_ROLLBACK,))
    decision = demo.work / "decision.json"
    _, lines = cli(demo, "decide", "--validation", str(validation), "--stack", STACK, "--format", "json",
                   expect=(EXIT_ROLLBACK,), quiet=True)
    decision.write_text("\n".join(lines) + "\n")
    doc = json.loads(decision.read_text())
    if doc.get("action") != "rollback" or doc.get("target") != "last-good":
        raise DemoError(f"decide chose {doc.get('action')!r} → {doc.get('target')!r}, not rollback → last-good")
    why = "; ".join(r["text"] for r in doc.get("reasons", [])[:2])
    demo.say(f"exit {EXIT_ROLLBACK} = roll back to last-good ({doc.get('severity')}); the decision is attached to "
             "the rollback's report.")
    return decision, f"auto-rollback ({doc.get('severity')}): {why}"


def phase_plan(demo: Demo) -> None:
    """The ordered diff from v1.5.0 back to last-good (exit 2 = changes)."""
    cli(demo, "plan", STACK, "--to", "last-good", expect=(EXIT_CHANGES,))
    demo.say("The down migration of 0004 drops v1.5.0's retry columns (max_attempts, last_error_at): bookkeeping "
             f"{GOOD} does not have. Step 2's safety snapshot keeps them, so the rollback passes --allow-data-loss.")


def phase_rollback(demo: Demo, decision: Path, reason: str) -> Path:
    """Apply last-good with live progress; once jobs are frozen, the operator requeues the dead letters."""
    demo.say(f"{GOOD}'s health gate requires an empty dead letter queue, and those dead letters are {CANDIDATE}'s "
             "doing. So once the rollback has frozen the workers, the on-call requeues them (held as paused; the "
             f"last step resumes them under {GOOD}'s worker_fail_job). Skip that and the gate fails: jobs stay "
             "frozen, by design.")
    done: list[int] = []

    def on_line(plain: str) -> None:
        if not done and "release-jobs-freeze" in plain and plain.strip().startswith("✓"):
            done.append(triage_dead_letters(demo))
            demo.say(f"  [magenta]↳ operator, jobs frozen:[/magenta] requeued {done[0]} dead-lettered jobs as "
                     "paused; dead_letter_queue is empty")

    before, env = reports_in(demo.report_dir), demo.env
    demo.env = {**env, "ROLLBACK_INITIATOR": "rollback demo", "ROLLBACK_TRIGGER": "auto-rollback"}
    try:
        cli(demo, "apply", STACK, "--to", "last-good", "--yes", "--allow-data-loss", "--reason", reason,
                       "--decision", str(decision), show=progress_only(starts=True), on_line=on_line)
    finally:
        demo.env = env
    if not done:
        raise DemoError("the rollback never reported its job freeze, so the dead letters were not triaged")
    cli(demo, "verify", STACK, "--budget-seconds", VERIFY_BUDGET)
    state = final_state(demo)
    jobs = ", ".join(f"{n} {s}" for s, n in state["jobs"].items())
    code = f"{CANDIDATE}'s retry loop still there" if state["worker_fail_job_retries"] else f"{GOOD}'s again"
    demo.say(f"jobs resumed ({'still frozen!' if state['jobs_frozen'] else 'not frozen'}): worker_jobs {jobs} "
             f"(the {done[0]} requeued are due now); dead_letter_queue {state['dead_letter_queue']}; "
             f"worker_fail_job: {code}")
    return new_report(demo.report_dir, before)


def phase_report(demo: Demo, report_dir: Path) -> None:
    """The rollback's timeline with durations, and where the full report is."""
    from rollback.report import Report, fmt_duration

    report = Report.model_validate_json((report_dir / "report.json").read_text())
    table = Table(title=f"rollback {report.stack} → version {report.target.to_version}: {report.outcome} in "
                        f"{fmt_duration(report.duration_s)}", title_justify="left")
    for column in ("#", "at", "step", "component", "status", "took"):
        table.add_column(column, justify="right" if column in ("#", "at", "took") else "left")
    for i, step in enumerate(report.steps, 1):
        at = (step.started_at - report.started_at).total_seconds() if step.started_at else None
        took = (step.ended_at - step.started_at).total_seconds() if step.ended_at and step.started_at else None
        mark = "✓" if step.status == "succeeded" else "✗"
        table.add_row(str(i), f"+{at:.1f} s" if at is not None else "—", step.name.removeprefix("release-"),
                      step.component or "—", f"{mark} {step.status}", fmt_duration(took))
    demo.console.print(table)
    demo.say(f"initiator {report.who.initiator} ({report.who.trigger}); snapshot "
             f"{report.snapshots[0].reference if report.snapshots else '—'}")
    demo.say(f"full report: {report_dir}/report.md (also report.json, postmortem.md, notify-*.txt)")


def phase_settled(demo: Demo) -> dict[str, Any]:
    """A second plan has nothing to do (exit 0); the live state equals the record's last-good."""
    cli(demo, "plan", STACK, "--to", "last-good", expect=(0,))
    state, good = final_state(demo), recorded(GOOD)
    problems: list[str] = []
    if state["schema_version"] != good["schema_version"] or state["schema_dirty"]:
        problems.append(f"schema {state['schema_version']} (dirty={state['schema_dirty']}) ≠ {good['schema_version']}")
    if state["alias"] != good["deployment_id"]:
        problems.append(f"alias on {state['alias']} ≠ {good['deployment_id']}")
    if state["flags"] != good["flags"]:
        problems.append(f"flags {state['flags']} ≠ {good['flags']}")
    if state["jobs_frozen"]:
        problems.append("jobs still frozen")
    if state["dead_letter_queue"]:
        problems.append(f"{state['dead_letter_queue']} dead letters left")
    if state["worker_fail_job_retries"]:
        problems.append(f"worker_fail_job is still {CANDIDATE}'s")
    if problems:
        raise DemoError(f"final state is not {GOOD}: {'; '.join(problems)}")
    demo.say(f"[green]final state:[/green] schema {state['schema_version']}, {ALIAS} → {state['alias']}, "
             f"flags = {GOOD}'s ({len(state['flags'])}), jobs resumed, DLQ empty")
    return {**state, "expected": good}


# --- entry point ----------------------------------------------------------------------------------------------------

def _summary(path: Path | None, data: dict[str, Any]) -> None:
    """Write the machine-readable outcome (for tests and CI)."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def story(demo: Demo) -> dict[str, Any]:
    """Every phase in order; returns the final state."""
    phase_sandbox(demo)
    with demo.phase(f"2 · release {GOOD}: recorded known-good, deployed, verified"):
        phase_known_good(demo)
    with demo.phase(f"3 · release {CANDIDATE}, then the incident: DLQ flood + error rate"):
        validation = phase_incident(demo)
    with demo.phase("4 · rollback decide"):
        decision, reason = phase_decide(demo, validation)
    with demo.phase("5 · rollback plan --to last-good: the ordered diff"):
        phase_plan(demo)
    with demo.phase("6 · rollback apply --to last-good: live progress, health gate, jobs resume"):
        report_dir = phase_rollback(demo, decision, reason)
    with demo.phase("7 · report: timeline with durations"):
        phase_report(demo, report_dir)
    with demo.phase("8 · settled: a second plan has no changes"):
        state = phase_settled(demo)
    return {**state, "report": str(report_dir)}


def run(report_dir: Path, summary: Path | None = None, console: Console | None = None) -> int:
    """Run the demo on its own sandbox; 0 on success, else one error line and 1. The sandbox is always removed."""
    console = console or Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="rollback-demo-"))
    redactor = Redactor(env={})
    result: dict[str, Any] = {"ok": False, "sandbox_dir": str(root)}
    code = 1
    try:
        console.rule("[bold]rollback-as-code demo[/bold]: a bad release, detected, decided, rolled back")
        phases: list[tuple[str, float]] = []
        with phase(console, phases, SANDBOX_TITLE):
            sb = sandbox_mod.up(root)
            redactor.add(*sb.secret_values())
        result["ports"] = {"postgres": sb.pg["port"], "moto": sb.moto["port"], "vercel": sb.vercel["port"]}
        report_dir = report_dir.resolve()
        env = {**os.environ, **sb.env(), "ROLLBACK_REPORT_DIR": str(report_dir)}
        env.pop("ROLLBACK_PROJECT_DIR", None)
        demo = Demo(console, sb, env, root, report_dir, redactor, phases)
        result.update(story(demo), ok=True, phases={t: round(s, 1) for t, s in demo.phases})
        code = 0
    except KeyboardInterrupt:
        err.print("interrupted: stopping the sandbox")
        code = 130
    except Exception as exc:  # one line, no traceback: the demo is a newcomer's first contact
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        result["error"] = redactor.text(message)
        err.print(Text(f"error: {result['error']}"))
    finally:
        sandbox_mod.down(root)
        result["sandbox_removed"] = not root.exists()
        result["wall_s"] = round(time.monotonic() - started, 1)
        _summary(summary, result)
    if code == 0:
        console.rule(f"[bold green]done in {result['wall_s']:.0f} s[/bold green]: sandbox stopped and removed")
    return code
