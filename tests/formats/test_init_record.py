"""`rollback init` and `record` on up-only histories through the CLI: the format detected or forced, versions in the
tool's words, and bad input refused in one line with nothing written."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.adopt.test_new_stack import rollback, tree
from tests.uponly.support import CORPORA


def init(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`rollback init app` over the project's drizzle/ folder."""
    return rollback(project, "init", "app", "--migrations-dir", str(project / "drizzle"), *extra)


@pytest.fixture
def drizzle_project(tmp_path: Path) -> Path:
    """A repository holding a Drizzle Kit `out` folder (a copy of the corpus set)."""
    root = tmp_path / "project"
    shutil.copytree(CORPORA["drizzle"].migrations, root / "drizzle")
    return root


def test_init_detects_each_format_and_names_what_it_ignores(tmp_path: Path) -> None:
    for name, corpus in sorted(CORPORA.items()):
        root = tmp_path / name
        root.mkdir()
        proc = rollback(root, "init", "app", "--migrations-dir", str(corpus.migrations), "--components", "schema")
        assert proc.returncode == 0, proc.stderr
        assert f"({name}: " in proc.stdout and f"newest {corpus.head}" in proc.stdout
        assert f"rollback:migrationsFormat: {name}" in (root / "Pulumi.app.yaml").read_text()
        copied = root / "rollback_stacks" / "app" / "migrations"
        if name == "prisma":
            assert (copied / "20231016120044_" / "migration.sql").is_file()  # an empty folder name is one
        if name == "drizzle":
            assert "note: ignored 0004_manual_fix.sql" in proc.stdout and (copied / "meta/_journal.json").is_file()


def test_record_takes_the_tools_names_and_refuses_unknown_ones(drizzle_project: Path) -> None:
    assert init(drizzle_project).returncode == 0
    ok = rollback(drizzle_project, "record", "app", "--label", "k", "--schema-version", "0006_lucky_pelican",
                  "--git-sha", "0a1b2c3")
    assert ok.returncode == 0, ok.stderr
    by_number = rollback(drizzle_project, "record", "app", "--label", "head", "--schema-version", "9",
                         "--git-sha", "0a1b2c3")  # the tag's number, as drizzle-kit prints it
    assert by_number.returncode == 0, by_number.stderr
    rows = json.loads(rollback(drizzle_project, "targets", "list", "app", "--format", "json").stdout)["versions"]
    assert [(r["schema_name"], r["schema_version"]) for r in rows] == [("0006_lucky_pelican", 7),
                                                                       ("0009_grey_lynx", 10)]
    doc = (drizzle_project / "rollback_stacks/app/versions/0001.yaml").read_text()
    assert "format: drizzle" in doc and "0006_lucky_pelican.sql" in doc and "0007_wise_mongoose" not in doc
    assert "0004_manual_fix" not in doc  # not in the journal: never recorded
    before = tree(drizzle_project)
    bad = rollback(drizzle_project, "record", "app", "--label", "x", "--schema-version", "0042_nope",
                   "--git-sha", "0a1b2c3")
    assert bad.returncode == 1 and "--schema-version" in bad.stderr and "'0042_nope'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and tree(drizzle_project) == before


def test_bad_directories_are_refused_with_the_fix_and_nothing_written(drizzle_project: Path) -> None:
    journal = drizzle_project / "drizzle" / "meta" / "_journal.json"
    data = json.loads(journal.read_text())
    data["entries"][3]["when"] = data["entries"][1]["when"]  # out of order: drizzle's migrator would skip it
    journal.write_text(json.dumps(data))
    before = tree(drizzle_project)
    proc = init(drizzle_project)
    assert proc.returncode == 1 and "drizzle's migrator would skip it" in proc.stderr and "--format" in proc.stderr
    assert tree(drizzle_project) == before
    forced = init(drizzle_project, "--format", "prisma")
    assert forced.returncode == 1 and "--format" in forced.stderr and tree(drizzle_project) == before
    unknown = init(drizzle_project, "--format", "flyway")
    assert unknown.returncode == 1 and "unknown migration format 'flyway'" in unknown.stderr


def test_functions_apart_from_an_up_only_history_are_refused(drizzle_project: Path) -> None:
    assert init(drizzle_project).returncode == 0
    fn = drizzle_project / "rollback_stacks" / "app" / "functions" / "touch.v1.sql"
    fn.parent.mkdir()
    fn.write_text("CREATE OR REPLACE FUNCTION touch() RETURNS void LANGUAGE sql AS 'SELECT 1';\n")
    before = tree(drizzle_project)
    proc = rollback(drizzle_project, "record", "app", "--label", "k", "--schema-version", "0006_lucky_pelican",
                    "--function", "touch=functions/touch.v1.sql", "--git-sha", "0a1b2c3")
    assert proc.returncode == 1 and "database.functions" in proc.stderr and "would drop" in proc.stderr
    assert tree(drizzle_project) == before
