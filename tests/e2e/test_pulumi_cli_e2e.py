"""The repository as a Pulumi project under the `pulumi` binary (our language host): the README's loop verbatim
against the sandbox, the data-loss refusal under plain `pulumi up`, and `pulumi stack history`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from rollback.engine import REPO_ROOT, engine_env
from tests.databases import create_database, drop_database

pytestmark = pytest.mark.e2e


def readme_loop() -> list[str]:
    """The `pulumi …` lines of the README's loop block, as written there (comments stripped)."""
    text = (REPO_ROOT / "README.md").read_text()
    block = text.split("<!-- loop:begin -->", 1)[1].split("<!-- loop:end -->", 1)[0]
    lines = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    return [line for line in lines if line.startswith("pulumi ")]


def project_copy(dest: Path) -> Path:
    """The repository's tracked files (what a clone has), with this checkout's virtualenv."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src, dst = REPO_ROOT / name, dest / name
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
    (dest / ".venv").symlink_to(Path(sys.prefix))
    return dest


class Shell:
    """Runs command lines in the project copy with the sandbox's variables, as a user's shell would."""

    def __init__(self, project: Path, env: dict[str, str]) -> None:
        self.project, self.env = project, env

    def __call__(self, line: str, *, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(["bash", "-c", line], cwd=self.project, env=self.env, capture_output=True, text=True,
                              timeout=300)
        if ok:
            assert proc.returncode == 0, f"{line}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
        return proc

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else []


@pytest.fixture
def shell(sandbox, engine_dir, tmp_path) -> Iterator[Shell]:
    """v1.5.0 live on a fresh database and state, applied by `rollback apply` (the README's starting point)."""
    from sandbox import seed_deployments

    seed_deployments(sandbox)
    dsn = create_database(sandbox, "cli")
    (tmp_path / "state").mkdir()
    project = project_copy(tmp_path / "project")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "ROLLBACK_"))}
    env |= {**sandbox.env(), "DATABASE_URL": dsn, "ROLLBACK_PROJECT_DIR": str(project),
            "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
            "ROLLBACK_REPORT_DIR": str(tmp_path / "reports"), "NO_COLOR": "1", "COLUMNS": "200",
            "PULUMI_SKIP_UPDATE_CHECK": "true", "PATH": engine_env()["PATH"]}
    sh = Shell(project, env)
    sh(f'{sys.prefix}/bin/rollback apply local --to v1.5.0 --yes --reason "bad release"')
    yield sh
    drop_database(sandbox, dsn)


def steps(preview: str) -> list[str]:
    """The resource types of the preview's changed steps, in the order the engine reported them."""
    return re.findall(r"^ [~+-]  \S+?:(?:dynamic/)?rollback:(\w+) ", preview, re.MULTILINE)


def test_readme_loop_previews_applies_and_lists_the_rollback(shell):
    lines = readme_loop()
    assert lines == ["pulumi stack select local", "pulumi config set rollback:target v1.4.2",
                     "pulumi preview --stack local", "pulumi up --stack local --yes", "pulumi preview --stack local",
                     "pulumi stack history --stack local"]
    select, config, preview, up, again, history = (shell(line) for line in lines)

    assert "7 to update" in preview.stdout and re.search(r"version\s*: 3 => 2", preview.stdout)
    order = steps(preview.stdout)
    assert order[0] == "JobFreeze" and order[-1] == "JobRelease", order
    assert order.index("PgDumpSnapshot") < order.index("SchemaMigration"), order
    assert "7 updated" in up.stdout
    assert shell.sql("SELECT version, dirty FROM schema_migrations") == [(3, False)]
    assert "to update" not in again.stdout and "18 unchanged" in again.stdout
    kinds = re.findall(r"exec\.kind: (\S+)", history.stdout)
    assert kinds[:2] == ["cli", "auto.inline"], history.stdout  # newest first: our `pulumi up`, then `rollback apply`
    assert (shell.project / "Pulumi.local.yaml").read_text().count("rollback:target: v1.4.2") == 1


def test_plain_up_refuses_data_loss_until_allowed(shell):
    shell.sql("INSERT INTO notification_digests (user_id, day) VALUES (gen_random_uuid(), current_date)")
    shell("pulumi stack select local")
    shell("pulumi config set rollback:target v1.4.2")
    refused = shell("pulumi up --stack local --yes", ok=False)
    out = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0
    assert "data-loss pre-check refused the migration" in out
    assert "0005_notification_digests.down.sql drops table notification_digests (1 rows)" in out
    assert shell.sql("SELECT version, dirty FROM schema_migrations") == [(5, False)]
    assert shell.sql("SELECT count(*) FROM notification_digests") == [(1,)]

    shell("pulumi config set rollback:allowDataLoss true")  # stored as the string "true"
    shell("pulumi up --stack local --yes")
    assert shell.sql("SELECT version, dirty FROM schema_migrations") == [(3, False)]


def test_a_refused_setting_under_plain_preview_names_the_key(shell):
    shell("pulumi stack select local")
    shell("pulumi config set rollback:retain twenty")
    proc = shell("pulumi preview --stack local", ok=False)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert 'Pulumi.local.yaml: rollback:retain: got "twenty"; expected a whole number ≥ 1' in out
    assert "fix: pulumi config set --stack local rollback:retain 20" in out
