"""Apply reports: structure of the JSON/Markdown, notifications, post-mortem, and no secret in any file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from rollback.redact import Redactor
from rollback.report import (
    Report,
    ReportRecorder,
    Target,
    Who,
    fmt_duration,
    notification_initiated,
    notification_resolved,
    postmortem,
    render_markdown,
    write_notification,
    write_report,
)

DB_PASSWORD = "s3cr3t-Pg-pw!"
TOKEN = "vrcl_tok_9f8e7d6c5b4a"
STEPS = [("freeze jobs", "jobs", "on", "off", 2), ("safety snapshot", "snapshot", None, None, 40),
         ("schema", "schema", "5", "3", 95), ("alias", "alias", "dpl_new", "dpl_old", 3),
         ("health gate", "health", None, None, 12), ("release jobs", "jobs", "off", "on", 1)]


class FakeClock:
    """Advances by the seconds scheduled with tick()."""

    def __init__(self) -> None:
        self.t = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t

    def tick(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


def run_report(clock: FakeClock, *, outcome: str = "succeeded", approver: str | None = None) -> Report:
    """A recorded v3 -> v1 rollback with every kind of entry."""
    who = Who(initiator="alice", reason="checkout errors after v3", approver=approver,
              emergency_override=approver is not None, trigger="auto-rollback")
    rec = ReportRecorder("prod", who, Target(ref="last-good", from_version="3", to_version="1"), severity="P1",
                         decision={"action": "rollback", "policy": ["rollback/policy/default.yaml"],
                                   "reasons": [{"rule": "error_rate_high", "text": "error rate 12 % > 10 %",
                                                "source": "rollback/policy/default.yaml:64"}]},
                         clock=clock)
    for name, component, from_, to, seconds in STEPS:
        with rec.step(name, component=component, from_=from_, to=to):
            clock.tick(seconds)
    rec.change("urn:pulumi:prod::rollback-as-code::rollback:Alias::alias", "update", component="alias",
               from_="dpl_new", to="dpl_old")
    rec.snapshot("snapshot", "s3://rollback-snapshots/prod/20260102T030407.dump")
    rec.health("api", ok=True, detail="GET /api/health 200", duration_s=0.4)
    clock.tick(1)
    return rec.finish(outcome)


def test_recorder_times_every_step():
    report = run_report(FakeClock())
    assert [s.name for s in report.steps] == [s[0] for s in STEPS]
    assert [s.duration_s for s in report.steps] == [float(s[4]) for s in STEPS]
    assert all(s.status == "succeeded" for s in report.steps)
    assert report.duration_s == sum(s[4] for s in STEPS) + 1
    assert report.outcome == "succeeded"


def test_failed_step_is_recorded_and_reraised():
    clock = FakeClock()
    rec = ReportRecorder("prod", Who(initiator="bob"), Target(ref="v1"), clock=clock)
    with pytest.raises(RuntimeError), rec.step("schema"):
        clock.tick(3)
        raise RuntimeError("migrate down failed")
    open_step = rec.start_step("alias")
    report = rec.finish("failed", error="migrate down failed")
    assert (report.steps[0].status, report.steps[0].duration_s, report.steps[0].detail) == (
        "failed", 3.0, "migrate down failed")
    assert open_step.status == "failed" and open_step.ended_at == report.ended_at


def test_end_step_by_name_for_engine_events():
    rec = ReportRecorder("prod", Who(initiator="ci"), Target(ref="v1"))
    rec.start_step("urn:a", op="update")
    rec.end_step("urn:a", detail="done")
    assert rec.report.steps[0].status == "succeeded" and rec.report.steps[0].detail == "done"


def test_written_files_structure(tmp_path):
    files = write_report(run_report(FakeClock()), tmp_path, Redactor(env={}))
    assert files.directory.parent == tmp_path
    assert sorted(p.name for p in files.directory.iterdir()) == [
        "notify-initiated.txt", "notify-resolved.txt", "postmortem.md", "report.json", "report.md"]
    data = json.loads(files.json.read_text())
    assert {"id", "stack", "who", "target", "started_at", "ended_at", "duration_s", "outcome", "steps", "changes",
            "snapshots", "health", "severity", "decision", "error"} <= set(data)
    assert data["who"] == {"initiator": "alice", "reason": "checkout errors after v3", "approver": None,
                           "emergency_override": False, "trigger": "auto-rollback"}
    assert data["target"] == {"ref": "last-good", "from_version": "3", "to_version": "1", "components": None}
    assert data["steps"][2] | {"started_at": None, "ended_at": None} == {
        "name": "schema", "component": "schema", "op": None, "from": "5", "to": "3", "status": "succeeded",
        "started_at": None, "ended_at": None, "detail": "", "error": None, "sql": None, "lock_waits": None,
        "kept": None, "restored": None, "retries": None, "duration_s": 95.0}
    assert data["duration_s"] == 154.0
    assert Report.model_validate(data).steps[2].from_ == "5"  # round-trips

    md = files.markdown.read_text()
    assert md.startswith("# Rollback report: prod → 1 (succeeded)\n")
    for heading in ("## Timeline", "## Changes", "## Snapshots", "## Health", "## Decision"):
        assert f"\n{heading}\n" in md
    timeline = [line for line in md.splitlines() if line.startswith("| ") and " UTC | " in line]
    assert len(timeline) == len(STEPS)
    assert "| 3 | schema | schema | 5 → 3 | ✅ succeeded | 2026-01-02 03:04:47 UTC | 2026-01-02 03:06:22 UTC " \
           "| 1 min 35 s |" in md
    assert "| Duration | 2 min 34 s |" in md
    assert "s3://rollback-snapshots/prod/20260102T030407.dump" in md
    assert "- error rate 12 % > 10 % (rule error_rate_high, rollback/policy/default.yaml:64)" in md
    assert "policy: rollback/policy/default.yaml" in md and "seed" not in md


def test_notifications_follow_the_seed_templates():
    report = run_report(FakeClock(), approver="carol")
    started = notification_initiated(report)
    assert "Initiating Rollback" in started and "Severity: P1" in started
    assert "Next update in 30 minutes" in started  # seed 001: P1 every 30 minutes
    assert "Emergency override approved by: carol" in started and "On-call: alice" in started
    resolved = notification_resolved(report)
    assert "[RESOLVED] Rollback Complete" in resolved and "Duration: 2 min 34 s" in resolved
    assert "System Status: ✅ Healthy" in resolved
    failed = notification_resolved(run_report(FakeClock(), outcome="failed"))
    assert "Rollback FAILED" in failed and "RESOLVED" not in failed


def test_postmortem_is_seed_001_template_filled_from_the_run():
    text = postmortem(run_report(FakeClock()))
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections == ["## Summary", "## Timeline", "## Root Cause", "## Impact Assessment", "## Resolution",
                        "## Lessons Learned", "## Action Items", "## Prevention Measures"]
    assert "- **Severity**: P1" in text and "- **Duration**: 2 min 34 s" in text
    assert "- error rate 12 % > 10 %" in text
    assert "schema succeeded after 1 min 35 s" in text
    assert "[Number]" in text  # what the run cannot know stays a placeholder


def test_markdown_escapes_table_cells():
    rec = ReportRecorder("prod", Who(initiator="x", reason="a | b\nc"), Target(ref="v1"))
    assert "| Reason | a \\| b c |" in render_markdown(rec.finish("refused"))


@pytest.mark.parametrize(("seconds", "text"), [(None, "—"), (0.42, "0.4 s"), (95, "1 min 35 s"), (3725, "1 h 2 min")])
def test_fmt_duration(seconds, text):
    assert fmt_duration(seconds) == text


def test_no_secret_in_any_written_file(tmp_path, monkeypatch):
    dsn = f"postgresql://app:{DB_PASSWORD.replace('!', '%21')}@127.0.0.1:5432/app"
    env = {"DATABASE_URL": dsn, "VERCEL_TOKEN": TOKEN, "AWS_SECRET_ACCESS_KEY": "aws-secret-key-xyz",
           "AWS_ACCESS_KEY_ID": "AKIATESTKEYID", "PULUMI_CONFIG_PASSPHRASE": "pass-phrase-123"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    clock = FakeClock()
    rec = ReportRecorder("prod", Who(initiator="alice", reason=f"token {TOKEN} leaked in reason"),
                         Target(ref="last-good"), clock=clock,
                         decision={"action": "rollback", "reasons": [{"text": f"db {dsn}", "source": TOKEN}]})
    with rec.step("schema", from_="5", to="3") as step:
        step.detail = f"psql {dsn} -c 'select 1' (password {DB_PASSWORD})"
    rec.snapshot("snapshot", f"pg_dump postgresql://other:hunter2secret@db/x with {env['AWS_SECRET_ACCESS_KEY']}")
    rec.health("api", ok=False, detail=f"Authorization: Bearer {TOKEN}; key {env['AWS_ACCESS_KEY_ID']}")
    rec.change(f"{TOKEN}-resource", "update", detail=f"{env['PULUMI_CONFIG_PASSPHRASE']} explicit-secret-42")
    report = rec.finish("failed", error=f"connect {dsn} failed; {TOKEN}")
    files = write_report(report, tmp_path / "reports", Redactor(secrets=["explicit-secret-42"]))
    write_notification(report, tmp_path / "reports")
    written = list((tmp_path / "reports").rglob("*"))
    assert len([p for p in written if p.is_file()]) == 5
    secrets = [DB_PASSWORD, DB_PASSWORD.replace("!", "%21"), TOKEN, "hunter2secret", "explicit-secret-42",
               "aws-secret-key-xyz", "AKIATESTKEYID", "pass-phrase-123"]
    for path in (p for p in written if p.is_file()):
        text = path.read_text()
        for secret in secrets:
            assert secret not in text, (path.name, secret)
    assert "postgresql://app:***@127.0.0.1:5432/app" in files.json.read_text()
    assert "***" in files.markdown.read_text()
