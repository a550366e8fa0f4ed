"""`rollback decide` as the operator and CI call it: exit codes, output formats, bad input, per-stack thresholds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rollback.decide import load_thresholds
from rollback.decide_cli import run
from rollback.errors import RollbackError

ROLLBACK = [sys.executable, "-c", "from rollback.cli import main; main()"]


def write(tmp_path: Path, doc: object, name: str = "validation.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ROLLBACK, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("doc", "code"), [
    ({}, 0),
    ({"failure_type": "infrastructure", "failing_checks": [{"name": "tls"}]}, 3),
    ({"failure_type": "application", "failing_checks": [{"name": "api"}]}, 4),
    ({"failure_type": "test_environment", "failing_checks": [{"name": "emulator"}]}, 5),
    ({"failure_type": "data", "failing_checks": [{"name": "rls"}]}, 6),
])
def test_exit_codes(tmp_path, doc, code):
    proc = cli("decide", "--validation", str(write(tmp_path, doc)), cwd=tmp_path)
    assert proc.returncode == code, proc.stderr
    assert proc.stdout.startswith("decision: ")


def test_json_output_is_machine_readable(tmp_path):
    doc = {"stack": "prod", "failure_type": "application", "failing_checks": [{"name": "api"}],
           "signals": {"db_connection_failed": True}}
    proc = cli("decide", "--validation", str(write(tmp_path, doc)), "--format", "json", cwd=tmp_path)
    assert proc.returncode == 3
    out = json.loads(proc.stdout)
    assert out["action"] == "rollback" and out["severity"] == "P0" and out["target"] == "last-good"
    assert out["immediate"] is True and out["stack"] == "prod"
    assert [r["rule"] for r in out["reasons"]][:1] == ["db_connection_failed"]


@pytest.mark.parametrize(("content", "expected"), [
    (None, "no such file"),
    ("{not json", "invalid JSON at line 1"),
    ({"metrics": {"error_rate": "high"}}, "field metrics.error_rate"),
    ({"metrics": {"error_rate": 7}}, "field metrics.error_rate: Input should be less than or equal to 1"),
    ({"failure_type": "network"}, "field failure_type"),
    ({"failing_checks": [{"name": "x"}]}, "failure_type is required"),
    ({"signals": {"service_dwn": True}}, "field signals.service_dwn: Extra inputs are not permitted"),
    ([1, 2], "field (top level)"),
])
def test_bad_input_is_one_line_naming_file_and_field(tmp_path, content, expected):
    path = tmp_path / "missing.json" if content is None else write(tmp_path, content)
    proc = cli("decide", "--validation", str(path), cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), proc.stderr
    assert expected in lines[0]


def test_missing_validation_option(tmp_path):
    proc = cli("decide", cwd=tmp_path)
    assert proc.returncode == 1 and "--validation FILE is required" in proc.stderr


def test_override_needs_both_reason_and_approver(tmp_path):
    proc = cli("decide", "--validation", str(write(tmp_path, {})), "--override-reason", "x", cwd=tmp_path)
    assert proc.returncode == 1 and "--approver" in proc.stderr


def test_override_forces_rollback_and_is_recorded(tmp_path, capsys):
    code = run(write(tmp_path, {}), fmt="json", override_reason="security fix", approver="alice", project_dir=tmp_path)
    out = json.loads(capsys.readouterr().out)
    assert code == 3 and out["override"] == {"reason": "security fix", "approver": "alice"}


def test_schema_documents_the_input(tmp_path):
    proc = cli("decide", "--schema", cwd=tmp_path)
    schema = json.loads(proc.stdout)
    assert proc.returncode == 0
    assert {"failure_type", "failing_checks", "metrics", "critical_errors", "signals"} <= set(schema["properties"])


def test_help_documents_exit_codes(tmp_path):
    proc = cli("decide", "--help", cwd=tmp_path)
    assert "3 rollback" in proc.stdout and "6 data fix" in proc.stdout and "1 bad input" in proc.stdout


STACK_YAML = """config:
  rollback:target: last-good
  rollback:thresholds:
    errorRate: 0.01
    p95Ms: 800
    availability: 0.999
    criticalErrors: [PAYMENTS_DOWN]
"""


def test_thresholds_from_stack_settings(tmp_path, capsys):
    (tmp_path / "Pulumi.prod.yaml").write_text(STACK_YAML)
    th, source = load_thresholds("prod", tmp_path)
    assert (th.error_rate, th.p95_ms, th.availability, th.critical_errors) == (0.01, 800, 0.999, ["PAYMENTS_DOWN"])
    assert source == "Pulumi.prod.yaml rollback:thresholds"
    doc = {"failure_type": "application", "failing_checks": [{"name": "api"}], "metrics": {"error_rate": 0.02}}
    assert run(write(tmp_path, doc), stack="prod", project_dir=tmp_path) == 3
    assert "1 %" in capsys.readouterr().out
    assert run(write(tmp_path, doc), stack="staging", project_dir=tmp_path) == 4  # no file: the default policy


def test_stack_from_the_validation_file(tmp_path):
    (tmp_path / "Pulumi.prod.yaml").write_text(STACK_YAML)
    doc = {"stack": "prod", "failure_type": "application", "failing_checks": [{"name": "a"}],
           "metrics": {"p95_ms": 900}}
    assert run(write(tmp_path, doc), project_dir=tmp_path) == 3


def test_repo_stack_files_have_no_thresholds_so_defaults_apply():
    repo = Path(__file__).resolve().parents[2]
    for stack in ("local", "staging", "prod"):
        th, source = load_thresholds(stack, repo)
        assert source.startswith("defaults") or "rollback:thresholds" in source
        assert th.error_rate > 0


def test_bad_thresholds_name_file_and_key(tmp_path):
    (tmp_path / "Pulumi.prod.yaml").write_text("config:\n  rollback:thresholds:\n    errorRate: lots\n")
    with pytest.raises(RollbackError, match=r"Pulumi.prod.yaml: rollback:thresholds: field errorRate"):
        load_thresholds("prod", tmp_path)
