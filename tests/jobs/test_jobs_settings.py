"""rollback:jobs validation: every malformed setting is refused with the file, the field and the fix."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from components.jobs_settings import JobsSettingError, JobsSettings, parse
from rollback.stacks import stack_settings

REPO = Path(__file__).resolve().parents[2]


def test_absent_uses_the_versions_backend() -> None:
    assert parse(None, stack="s", default_backend="ssm") == JobsSettings(backend="ssm")


def test_each_backend_parses() -> None:
    sql = parse({"backend": "sql", "pause": "UPDATE q SET p = true", "resume": "UPDATE q SET p = false",
                 "running": "SELECT 0", "drainSeconds": 5}, stack="s")
    assert sql.drain_seconds == 5.0 and sql.props()["pause"] == "UPDATE q SET p = true"
    bull = parse({"backend": "bullmq", "queues": ["ai-analysis", "document-processing"], "prefix": "bull"},
                 stack="s")
    assert bull.props() == {"backend": "bullmq", "queues": ["ai-analysis", "document-processing"],
                            "prefix": "bull", "drain_seconds": 60.0}
    assert parse({"backend": "http", "adminUrl": "https://admin/api/queue"}, stack="s").admin_url
    assert parse({"backend": "ssm", "prefix": "/app/prod"}, stack="s").prefix == "/app/prod"


@pytest.mark.parametrize(("raw", "message"), [
    ("sql", r"Pulumi.prod.yaml: rollback:jobs must be a mapping"),
    ({"backend": "sidekiq"}, r"rollback:jobs.backend 'sidekiq' is not one of postgres, sql, bullmq"),
    ({"backend": "sql", "pause": "x", "resume": "y"}, r"the sql backend needs running"),
    ({"backend": "bullmq"}, r"the bullmq backend needs queues"),
    ({"backend": "bullmq", "queues": ["a b"]}, r"rollback:jobs.queues must be a list of queue names"),
    ({"backend": "bullmq", "queues": ["a", "a"]}, r"names a queue twice"),
    ({"backend": "http"}, r"the http backend needs adminUrl"),
    ({"backend": "bullmq", "queues": ["a"], "pause": "x"}, r"pause not used by the bullmq backend"),
    ({"backend": "sql", "pause": " ", "resume": "y", "running": "z"}, r"rollback:jobs.pause must be a non-empty"),
    ({"backend": "postgres", "drainSeconds": -1}, r"drainSeconds must be a number of seconds from 0 to 3600"),
    ({"backend": "postgres", "drainSeconds": True}, r"drainSeconds must be a number"),
])
def test_malformed_settings_are_named(raw: object, message: str) -> None:
    with pytest.raises(JobsSettingError, match=message):
        parse(raw, stack="prod")


def test_the_example_queue_is_data_not_code() -> None:
    found = subprocess.run(["grep", "-rn", "worker_jobs", "components/"], cwd=REPO, capture_output=True, text=True)
    assert found.stdout == ""
    assert "worker_jobs" in stack_settings("local")["jobs"]["pause"]


def test_cli_refuses_a_bad_queue_setting_before_the_engine(tmp_path: Path) -> None:
    import os
    import shutil

    shutil.copytree(REPO / "rollback_stacks" / "local", tmp_path / "rollback_stacks" / "local")
    settings = tmp_path / "Pulumi.local.yaml"
    settings.write_text("config:\n  rollback:target: last-good\n  rollback:jobs:\n    backend: bullmq\n"
                        "    queue: emails\n")
    (tmp_path / "state").mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    env = {**os.environ, "ROLLBACK_PROJECT_DIR": str(tmp_path), "PULUMI_BACKEND_URL": f"file://{tmp_path}/state",
           "PULUMI_CONFIG_PASSPHRASE": "x", "NO_COLOR": "1"}
    proc = subprocess.run([str(REPO / ".venv/bin/rollback"), "plan", "local", "--to", "v1.4.2"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == ("error: Pulumi.local.yaml: rollback:jobs: queue not used by the bullmq backend "
                                   "(its fields: backend, drainSeconds, queues, prefix).")
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written
