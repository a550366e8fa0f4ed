"""Malformed and hostile input: TargetError / exit 1, a message naming file, line, field, expectation and fix,
no traceback, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rollback_stacks
from rollback_stacks import TargetError, docs
from rollback_stacks.record import Capture, record
from tests.targets.conftest import REPO, snapshot

V2 = "versions/0002.yaml"

# (edit of local/versions/0002.yaml as old -> new, expected fragments of the message)
MALFORMED = [
    ("version: 2", "version: two", ["0002.yaml:2: version:", "a valid integer", "fix: set `version`"]),
    ("version: 2", "version: 3", ["0002.yaml:2: version: got 3; expected 2 (the file name's number)"]),
    ("label: v1.4.2", "label: v1.3.0", ["0002.yaml:3: label:", "a label unique in the stack (version 1 has it)"]),
    ("label: v1.4.2", "label: [v1.4.2]", ["0002.yaml:3: label:", "a valid string"]),
    ("created_at: 2026-06-15T14:30:00Z", "created_at: 2026-05-01T00:00:00Z",
     ["0002.yaml:4: created_at:", "versions are monotonic"]),
    ("created_at: 2026-06-15T14:30:00Z", "created_at: 2026-06-15T14:30:00", ["created_at:", "timezone"]),
    ("created_at: 2026-06-15T14:30:00Z", "created_at: soon", ["0002.yaml:4: created_at:", "datetime"]),
    ("status: known-good", "status: great", ["0002.yaml:6: status:", "'candidate', 'known-good' or 'bad'"]),
    ("git_sha: 8c41e0b9a2d37f15", "git_sha: 8c41e0b9a2d37f15\ncolour: blue",
     ["0002.yaml:6: colour: got an unknown field", "fix: remove `colour`"]),
    ("  project: shop-web\n", "", ["app.project: got nothing; expected this required field", "fix: add `project:`"]),
    ("  deployment_id: dpl_v142", "  deployment_id: 42", ["app.deployment_id", "a valid string"]),
    ("    min: 3\n", "    min: 9\n", ["app.requires_schema", "min (9) must not exceed max (5)"]),
    ("    min: 3\n    max: 5\n", "    min: 4\n    max: 5\n",
     ["0002.yaml:13: app.requires_schema: got [4, 5]; expected a range containing database.schema_version 3"]),
    ("  - app.example.test", "  - evil.example.com", ["app.domains[0]", "rollback:allowedDomains"]),
    ("  schema_version: 3", "  schema_version: 9", ["exactly one up file for version 9",
                                                     "set database.schema_version to an existing version"]),
    ("  migrations_dir: migrations", "  migrations_dir: ../../etc", ["database.migrations_dir", "got '../../etc'"]),
    ("  migrations_dir: migrations", "  migrations_dir: ../../../etc", ["database.migrations_dir",
                                                                        "elsewhere inside the repository"]),
    ("      file: functions/notif_send.idempotent.sql", "      file: ../../etc/passwd",
     ["database.functions.notif_send.file: got '../../etc/passwd'", "a relative path inside local/"]),
    ("      file: functions/notif_send.idempotent.sql", "      file: /etc/passwd",
     ["database.functions.notif_send.file: got '/etc/passwd'"]),
    ("      file: functions/notif_send.idempotent.sql", "      file: functions/missing.sql",
     ["database.functions.notif_send.file: got missing functions/missing.sql", "an existing SQL file"]),
    ("      file: functions/notif_send.idempotent.sql", "      file: functions/worker_fail_job.simple.sql",
     ["functions/worker_fail_job.simple.sql: got different content", "database.functions.notif_send"]),
    ("    notif_frequency_cap: 5", "    notif_frequency_cap: [5]", ["jobs.flags.notif_frequency_cap", "a boolean"]),
    ("    notif_frequency_cap: 5", "    db_password: hunter2", ["jobs.flags.db_password", "no secrets"]),
    ("  prometheus_url: ${VERCEL_API_URL}", "  prometheus_url: https://admin:s3cret@prom.example",
     ["health.prometheus_url: got a URL with user:password@"]),
    ("  budget_seconds: 30", "  budget_seconds: -1", ["health.budget_seconds", "greater than 0"]),
    ("app:", "app: !!python/object/apply:os.system ['touch /tmp/pwned']\nx:",
     ["0002.yaml:8:", "python/object/apply:os.system", "expected valid YAML"]),
    ("app:", "app: &a\n  x: 1\ny: *a\nz:", ["0002.yaml:8:", "anchor or alias"]),
    ("version: 2", "version: 2\nversion: 2", ["0002.yaml:3:", "key 'version' given twice"]),
    ("version: 2", "version: [2", ["0002.yaml:", "expected valid YAML"]),
]


@pytest.mark.parametrize(("old", "new", "fragments"), MALFORMED, ids=[m[1][:40] for m in MALFORMED])
def test_malformed_version_documents(root: Path, cli, old: str, new: str, fragments: list[str]) -> None:
    path = root / "local" / V2
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    before = snapshot(root)
    with pytest.raises(TargetError) as err:
        rollback_stacks.load("local", root)
    for fragment in fragments:
        assert fragment in str(err.value)
    assert "expected" in str(err.value) and "fix:" in str(err.value)
    result = cli("targets", "validate", str(root))
    assert result.code == 1 and fragments[0] in result.err
    listed = cli("targets", "list", "local", "--root", str(root))
    assert listed.code == 1 and listed.err.startswith("error: ")
    recorded = cli("record", "local", "--label", "v9.0.0", "--git-sha", "abc1234", "--root", str(root))
    assert recorded.code == 1
    assert snapshot(root) == before
    assert not Path("/tmp/pwned").exists()


def test_huge_file_is_refused_before_parsing(root: Path, cli) -> None:
    path = root / "local" / V2
    path.write_text(path.read_text() + "# " + "x" * (docs.MAX_BYTES + 1) + "\n")
    with pytest.raises(TargetError, match=r"0002\.yaml: got \d+ bytes; expected a file of at most 1048576 bytes"):
        rollback_stacks.load("local", root)
    assert cli("targets", "validate", str(root)).code == 1


def test_deep_nesting_and_non_mappings(root: Path) -> None:
    path = root / "local" / V2
    for text, why in [("[" * 5000 + "]" * 5000, "nesting too deep"), ("- 1\n", "a mapping of version fields"),
                      ("", "a mapping of version fields"), ("\xff\xfe", "UTF-8")]:
        path.write_text(text, encoding="latin-1" if text.startswith("\xff") else "utf-8")
        with pytest.raises(TargetError, match=why):
            rollback_stacks.load("local", root)


def test_stray_files_in_versions(root: Path) -> None:
    (root / "local" / "versions" / "notes.txt").write_text("hi")
    with pytest.raises(TargetError, match=r"versions/notes\.txt: got an unexpected entry"):
        rollback_stacks.load("local", root)


def test_record_from_hostile_file_writes_nothing(root: Path, tmp_path: Path, cli) -> None:
    before = snapshot(root)
    for i, text in enumerate(["!!python/object/apply:os.system ['touch /tmp/pwned']\n", "label: x\nunknown: 1\n",
                              "version: 1\n", "- a\n"]):
        src = tmp_path / f"bad{i}.yaml"
        src.write_text(text)
        result = cli("record", "local", "--label", "v9.0.0", "--git-sha", "abc1234", "--from-file", str(src),
                     "--root", str(root))
        assert result.code == 1 and result.err.startswith("error: ") and "expected" in result.err
    assert snapshot(root) == before and not Path("/tmp/pwned").exists()


@pytest.mark.parametrize("args", [
    ["record", "local", "--label", "v9", "--git-sha", "abc1234", "--status", "bad"],
    ["record", "local", "--label", "v9", "--git-sha", "abc1234", "--flag", "novalue"],
    ["record", "local", "--label", "v9", "--git-sha", "abc1234", "--requires-schema", "x"],
    ["record", "local", "--label", "../../x", "--git-sha", "abc1234"],
    ["record", "local", "--label", "v9", "--git-sha", "abc1234", "--function", "notif_send=../../etc/passwd"],
    ["record", "local", "--label", "v9", "--git-sha", "not-a-sha"],
    ["record", "nope", "--label", "v9"],
    ["record", "local", "--label", "v9", "--git-sha", "abc1234", "--function",
     "notif_send=functions/worker_fail_job.simple.sql"],
    ["targets", "mark", "local", "1", "--status", "great", "--reason", "x"],
    ["targets", "list", "local", "--format", "xml"],
    ["targets", "show", "local", "v9"],
    ["targets", "promote", "v1.4.2", "--from", "prod", "--to", "prod"],
])
def test_cli_refusals(root: Path, cli, args: list[str]) -> None:
    before = snapshot(root)
    result = cli(*args, "--root", str(root))
    assert result.code == 1 and result.err.startswith("error: ")
    assert snapshot(root) == before


def test_validate_missing_dir(cli, tmp_path: Path) -> None:
    assert cli("targets", "validate", str(tmp_path / "nope")).code == 1
    assert cli("targets", "validate", str(tmp_path)).code == 1


def test_validate_one_stack_dir(cli, root: Path) -> None:
    result = cli("targets", "validate", str(root / "local"))
    assert result.code == 0 and result.out.startswith("ok local: 3 version(s)")


def test_real_process_has_no_traceback(root: Path) -> None:
    path = root / "local" / V2
    path.write_text(path.read_text().replace("version: 2", "version: [2"))
    for args in (["targets", "validate", str(root)], ["targets", "show", "local", "1", "--root", str(root)]):
        proc = subprocess.run([sys.executable, "-c", "from rollback.cli import main; main()", *args], cwd=REPO,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr and "0002.yaml" in proc.stderr


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8),
                                                                                           inner, max_size=3),
                      max_leaves=8)
FIELDS = ["version", "label", "created_at", "git_sha", "status", "status_history", "app", "database", "jobs",
          "health", "snapshot", "pulumi", "promoted_from", "extra"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), value=VALUES)
def test_fuzzed_fields_are_refused_cleanly(tmp_path_factory: pytest.TempPathFactory, field: str, value: object) -> None:
    """Replacing one top-level field with an arbitrary value never crashes and never writes."""
    import yaml

    base = tmp_path_factory.mktemp("fuzz")
    src = base / "new.yaml"
    data = docs.read(REPO / "rollback_stacks" / "local" / V2).data
    data[field] = value
    src.write_text(yaml.safe_dump(data))
    stacks_root = base / "rollback_stacks"
    import shutil

    shutil.copytree(REPO / "rollback_stacks" / "local", stacks_root / "local")
    before = snapshot(stacks_root)
    try:
        record("local", Capture(label="v9.9.9", git_sha="abc1234", source=src), root=stacks_root)
    except TargetError as err:
        assert "expected" in str(err)
        assert snapshot(stacks_root) == before
