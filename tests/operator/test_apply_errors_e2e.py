"""A failed apply says why: the failing step and its own message on the CLI, in report.json and report.md."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from rollback.engine import StepError, provider_message, step_error, summarize_engine_error
from rollback.redact import Redactor
from rollback.report import ReportRecorder, Target, Who, write_report
from tests.databases import create_database, drop_database
from tests.operator.test_rollout_e2e import Operator

# Recorded from engine v3.259.0: a 0005 up migration failing on a table that already exists (this file's e2e
# test), and a dynamic provider raising multi-line exceptions in create, update and diff.
SCHEMA_URN = ("urn:pulumi:local::rollback-as-code::rollback:components:Release$rollback:components:SchemaVersion"
              "$pulumi-python:dynamic/rollback:SchemaMigration::release-schema-migrate")
SCHEMA_MESSAGE = (
    "schema migration failed: 0005_notification_digests.up.sql failed and was rolled back (schema still at 4): "
    "relation \"notification_digests\" already exists. Jobs stay frozen by rollout "
    "ro-9fa6703abcbed87e@2026-12-02T00:13:35Z#940441 (the safe state): fix the cause and run `up` again; the "
    "release step resumes them only after every step has passed.")
SCHEMA_EVENTS = [(SCHEMA_URN, f"Exception calling application: {SCHEMA_MESSAGE}\n"), (None, "update failed\n")]
SCHEMA_OUTPUT = f"""
 code: 1
 stdout: Updating (local):

 ~  pulumi-python:dynamic/rollback:SchemaMigration release-schema-migrate **updating failed** [diff: ~check_id,\
jobs_frozen_by,plan,target_version]; error: Exception calling application: {SCHEMA_MESSAGE}
    pulumi:pulumi:Stack rollback-as-code-local running error: update failed
    pulumi:pulumi:Stack rollback-as-code-local **failed** 1 error
Diagnostics:
  pulumi-python:dynamic/rollback:SchemaMigration (release-schema-migrate):
    error: Exception calling application: {SCHEMA_MESSAGE}

  pulumi:pulumi:Stack (rollback-as-code-local):
    error: update failed

Outputs:
  - deployment_id     : "dpl_v142"

Resources:
    ~ 2 updated
    5 unchanged
    2 errored

Duration: 2s

 stderr: """
BOOM_URN = "urn:pulumi:ml::rollback-as-code::pulumi-python:dynamic:Resource::boom-step"
CREATE_EVENT = ("Exception calling application: 0005_x.up.sql failed: syntax error at or near \"SELEC\"\n"
                "LINE 1: SELEC 1\n        ^\n")
CREATE_OUTPUT = """
 code: 1
 stdout: Updating (ml):

 +  pulumi-python:dynamic:Resource boom-step **creating failed** error: Exception calling application: \
0005_x.up.sql failed: syntax error at or near "SELEC"
 +  pulumi:pulumi:Stack rollback-as-code-ml **creating failed (0.27s)** 1 error
Diagnostics:
  pulumi:pulumi:Stack (rollback-as-code-ml):
    error: update failed

  pulumi-python:dynamic:Resource (boom-step):
    error: Exception calling application: 0005_x.up.sql failed: syntax error at or near "SELEC"
    LINE 1: SELEC 1
            ^

Resources:
    + 1 created
    2 errored

Duration: 1s

 stderr: """
UPDATE_EVENT = ("Exception calling application: update failed: duplicate key value violates unique constraint "
                "\"t_pkey\"\nDETAIL:  Key (id)=(1) already exists.\n")
DIFF_OUTPUT = """
 code: 1
 stdout: Updating (ml):

    pulumi-python:dynamic:Resource boom-step  error: Exception calling application: diff refused:
    pulumi:pulumi:Stack rollback-as-code-ml
    pulumi-python:dynamic:Resource boom-step **failed** 1 error
Diagnostics:
  pulumi-python:dynamic:Resource (boom-step):
    error: Exception calling application: diff refused:
    second line

Resources:
    1 unchanged
    1 errored

Duration: 1s

 stderr: """
PROGRAM_EVENT = ("urn:pulumi:local::rollback-as-code::pulumi:pulumi:Stack::rollback-as-code-local",
                 "Program failed with an unhandled exception:\nTraceback (most recent call last):\n"
                 "  File \"p.py\", line 1\nValueError: partial rollout refused: schema 1\n")


def test_step_error_from_the_engine_event_names_the_step_and_its_component():
    assert step_error(SCHEMA_EVENTS, SCHEMA_OUTPUT) == StepError("release-schema-migrate", "SchemaVersion",
                                                                 SCHEMA_MESSAGE)


def test_step_error_from_the_cli_output_when_no_event_came():
    assert step_error([(None, "update failed\n")], SCHEMA_OUTPUT) == StepError(
        "release-schema-migrate", "SchemaMigration", SCHEMA_MESSAGE)


@pytest.mark.parametrize("events,output,message", [
    ([(BOOM_URN, CREATE_EVENT), (None, "update failed\n")], CREATE_OUTPUT,
     "0005_x.up.sql failed: syntax error at or near \"SELEC\" LINE 1: SELEC 1"),
    ([(BOOM_URN, UPDATE_EVENT), (None, "update failed\n")], "",
     "update failed: duplicate key value violates unique constraint \"t_pkey\" DETAIL:  Key (id)=(1) already exists."),
    ([], DIFF_OUTPUT, "diff refused: second line"),
])
def test_multi_line_provider_messages_are_joined(events, output, message):
    found = step_error(events, output)
    assert found is not None and (found.name, found.message) == ("boom-step", message)
    if output:
        assert step_error([], output) == StepError("boom-step", "Resource", message)


def test_a_program_exception_is_no_step_error():
    assert step_error([PROGRAM_EVENT, (None, "update failed\n")], "") is None


@pytest.mark.parametrize("text,expected", [
    ("rpc error: code = Unknown desc = Exception calling application: boom\n", "boom"),
    ("error: Exception calling application: a\n\n  b  \n", "a b"),
    ("x" * 2000, "x" * 599 + "…"),
])
def test_provider_message_unwraps_joins_and_cuts(text, expected):
    assert provider_message(text) == expected


def test_engine_summary_joins_a_multi_line_provider_message():
    joined = "0005_x.up.sql failed: syntax error at or near \"SELEC\" LINE 1: SELEC 1"
    assert summarize_engine_error(CREATE_OUTPUT) == joined


def test_report_error_section_names_the_step_and_redacts(tmp_path):
    rec = ReportRecorder("local", Who(initiator="ci"), Target(ref="v1.5.0"))
    step = rec.start_step("release-schema-migrate", component="SchemaVersion", op="update")
    step.error = "connect postgresql://app:s3cret-pw@db/x failed: boom"
    rec.end_step(step, "failed")
    files = write_report(rec.finish("failed", error=f"release-schema-migrate (SchemaVersion): {step.error}"),
                         tmp_path, Redactor(env={}))
    data = json.loads(files.json.read_text())
    assert data["steps"][0]["error"] == "connect postgresql://app:***@db/x failed: boom"
    assert data["error"] == "release-schema-migrate (SchemaVersion): connect postgresql://app:***@db/x failed: boom"
    md = files.markdown.read_text()
    assert "## Error\n\nStep **release-schema-migrate** (SchemaVersion) failed:\n\n```\nconnect postgresql://app:***@" \
           "db/x failed: boom\n```\n" in md
    assert "s3cret-pw" not in md + files.json.read_text()


@pytest.fixture
def operator(sandbox, tmp_path) -> Any:
    """v1.4.2 deployed on a fresh database and backend."""
    from sandbox import seed_deployments

    seed_deployments(sandbox)
    (tmp_path / "state").mkdir()
    dsn = create_database(sandbox, "err")
    op = Operator(sandbox, dsn, tmp_path / "state", tmp_path / "reports")
    proc = op.run("apply", "local", "--to", "v1.4.2", "--yes")
    assert proc.returncode == 0, proc.stderr
    yield op
    drop_database(sandbox, dsn)


def _last_report(op: Operator) -> tuple[dict[str, Any], str]:
    folder = max(op.reports.glob("*/report.json"), key=lambda p: p.stat().st_mtime).parent
    return json.loads((folder / "report.json").read_text()), (folder / "report.md").read_text()


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.e2e
def test_failing_migration_shows_the_postgresql_error(operator):
    with psycopg.connect(operator.dsn) as conn:  # 0005's CREATE TABLE then fails
        conn.execute("CREATE TABLE public.notification_digests (id int)")
    proc = operator.run("apply", "local", "--to", "v1.5.0", "--yes")
    assert proc.returncode == 1
    pg_error = 'relation "notification_digests" already exists'
    line = _error_line(proc.stderr)
    assert line.startswith("error: apply of v1.5.0 to local failed at step release-schema-migrate (SchemaVersion): "
                           "schema migration failed: 0005_notification_digests.up.sql failed and was rolled back "
                           f"(schema still at 4): {pg_error}."), line
    report, md = _last_report(operator)
    step = next(s for s in report["steps"] if s["name"] == "release-schema-migrate")
    assert report["outcome"] == "failed" and step["status"] == "failed" and pg_error in step["error"]
    assert report["error"] == f"release-schema-migrate (SchemaVersion): {step['error']}"
    assert "Step **release-schema-migrate** (SchemaVersion) failed:" in md and pg_error in md
    assert all(s["error"] is None for s in report["steps"] if s["status"] != "failed")
    assert operator.sandbox.secrets["pg_password"] not in proc.stderr + json.dumps(report) + md


@pytest.mark.e2e
def test_data_loss_refusal_names_the_step(operator):
    assert operator.run("apply", "local", "--to", "v1.5.0", "--yes").returncode == 0
    with psycopg.connect(operator.dsn) as conn:  # 0004's down migration would drop these rows' retry columns
        conn.execute("INSERT INTO public.worker_jobs (kind, status) VALUES ('notif_send', 'done')")
    proc = operator.run("apply", "local", "--to", "v1.4.2", "--yes")
    assert proc.returncode == 1
    line = _error_line(proc.stderr)
    assert "failed at step release-schema-migrate (SchemaVersion): schema migration failed: data-loss pre-check " \
           "refused the migration: 0004_worker_jobs_retry.down.sql drops column" in line, line
    report, md = _last_report(operator)
    assert report["error"].startswith("release-schema-migrate (SchemaVersion): schema migration failed: data-loss")
    assert "data-loss pre-check refused the migration" in md
