"""Bad watch settings and bad watch checks are refused naming the file, the field and the fix, changing nothing;
a passed watch is recorded like a status change; `rollback:watch.requireWatched` restricts last-good."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import rollback_stacks
from rollback_stacks.record import watched
from tests.targets.conftest import REPO, snapshot

DOC = REPO / "rollback_stacks" / "local" / "versions" / "0003.yaml"


@pytest.fixture
def project(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The copy of the example stacks as $ROLLBACK_PROJECT_DIR, with no state backend at all."""
    monkeypatch.setenv("ROLLBACK_PROJECT_DIR", str(root.parent))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("ROLLBACK_REPORT_DIR", str(root.parent / "reports"))
    return root.parent


def draft(tmp_path: Path, watch: list[dict[str, Any]]) -> Path:
    doc = yaml.safe_load(DOC.read_text())
    for key in ("version", "created_at", "status", "status_history", "pulumi"):
        doc.pop(key)
    doc["health"]["watch"] = watch
    path = tmp_path / "draft.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


BAD_CHECKS = [  # (watch entries, the field named, words of the expectation or fix)
    ([{"name": "dlq", "sql": "SELECT 1", "measure": "rate"}], "health.watch.0", "needs min or max"),
    ([{"name": "dlq", "sql": "SELECT 1", "metric": "x", "max": 1}], "health.watch.0", "exactly one of sql, metric"),
    ([{"name": "dlq", "sql": "SELECT 1", "measure": "slope", "max": 1}], "health.watch.0.measure", "'value' or 'rate'"),
    ([{"name": "dlq", "sql": "SELECT 1", "max": 1, "max_per_minute": 5}], "health.watch.0.max_per_minute",
     "remove `max_per_minute`"),
    ([{"name": "dlq", "check": "dead_letter_queue", "max": 1}], "health", "is not a health.sql or health.metrics"),
    ([{"name": "dlq", "sql": "SELECT 1", "max": 1, "consecutive": 0}], "health.watch.0.consecutive",
     "greater than or equal to 1"),
    ([{"name": "dlq", "sql": "SELECT 1", "max": 1, "signal": "on_fire"}], "health.watch.0.signal",
     "partial_degradation"),
    ([{"name": "dlq", "sql": "SELECT 1", "max": 1, "failure_limit": -1}], "health.watch.0.failure_limit",
     "greater than or equal to 0"),
]


@pytest.mark.parametrize(("entries", "field", "words"), BAD_CHECKS)
def test_a_bad_watch_check_is_refused_naming_file_field_and_fix_and_nothing_is_written(project, tmp_path, cli,
                                                                                       entries, field, words):
    before = snapshot(project / "rollback_stacks")
    got = cli("record", "local", "--label", "v1.7.0", "--from-file", str(draft(tmp_path, entries)),
              "--git-sha", "abcdef1")
    assert got.code == 1
    assert "rollback_stacks/local/versions/0004.yaml:" in got.err and f" {field}: " in got.err, got.err
    assert words in got.err and "fix: " in got.err, got.err
    assert snapshot(project / "rollback_stacks") == before


BAD_SETTINGS = [  # (rollback:watch YAML, the field named, the fix)
    ("    window: soon\n", "rollback:watch.window", "--path rollback:watch.window 15m"),
    ("    interval: 0\n", "rollback:watch.interval", "--path rollback:watch.interval 10s"),
    ("    window: 30s\n    interval: 1m\n", "rollback:watch.interval", "a shorter interval or a longer window"),
    ("    requireWatched: sometimes\n", "rollback:watch.requireWatched", "--path rollback:watch.requireWatched true"),
    ("    windw: 15m\n", "rollback:watch.windw", "pulumi config rm --stack local --path rollback:watch.windw"),
]


@pytest.mark.parametrize(("setting", "field", "fix"), BAD_SETTINGS)
def test_a_bad_watch_setting_is_refused_by_every_verb_before_anything_changes(project, cli, setting, field, fix):
    settings = project / "Pulumi.local.yaml"
    settings.write_text(settings.read_text() + "  rollback:watch:\n" + setting)
    before = snapshot(project)
    for args in (("watch", "local"), ("apply", "local", "--to", "last-good", "--yes", "--watch", "30m"),
                 ("targets", "list", "local")):
        got = cli(*args)
        assert got.code == 1, args
        assert "Pulumi.local.yaml" in got.err and field in got.err and fix in got.err, got.err
    assert snapshot(project) == before  # no report, no record, no state


@pytest.mark.parametrize(("args", "words"), [
    (("watch", "local", "--for", "soon"), "--for: got 'soon'; expected a duration from 1s to 24h; fix: e.g. --for 30m"),
    (("watch", "local", "--interval", "2m", "--for", "1m"), "--interval: got 2m; expected at most the window (1m)"),
    (("watch", "local", "--failure-type", "cosmic"), "--failure-type: got 'cosmic'"),
    (("apply", "local", "--to", "last-good", "--yes", "--watch", "25h"), "--for: got '25h'"),
])
def test_bad_watch_options_are_refused_before_anything_runs(project, cli, args, words):
    before = snapshot(project)
    got = cli(*args)
    assert got.code == 1 and words in got.err, got.err
    assert snapshot(project) == before


def test_a_passed_watch_makes_a_candidate_known_good_and_last_good_may_require_one(project, cli):
    stacks = project / "rollback_stacks"
    v = watched("local", 3, {"window_seconds": 900, "samples": 91, "report": "reports/x", "by": "ci"}, root=stacks)
    assert v.status == "known-good" and v.watches[0].samples == 91
    assert v.status_history[-1].reason == "watch passed: 91 samples over 900 s" and v.status_history[-1].by == "ci"
    again = watched("local", 3, {"window_seconds": 1800, "samples": 181, "by": "ci"}, root=stacks)
    assert [w.window_seconds for w in again.watches] == [900, 1800] and len(again.status_history) == 1
    rollback_stacks.load("local", stacks).verify()  # the sums still hold: watches are mutable like the status
    listed = cli("targets", "list", "local")
    assert "watched" in listed.out and "(30m)" in listed.out

    assert rollback_stacks.load("local", stacks).resolve("last-good").label == "v1.5.0"
    settings = project / "Pulumi.local.yaml"
    settings.write_text(settings.read_text() + "  rollback:watch:\n    requireWatched: true\n")
    record = rollback_stacks.load("local", stacks)
    assert record.resolve("last-good").label == "v1.5.0"  # the one that passed a watch
    with pytest.raises(rollback_stacks.TargetError, match="only 0 known-good version"):
        record.resolve("-1", deployed=3)  # v1.4.2 is known-good but never passed a watch
    assert record.resolve("v1.4.2").label == "v1.4.2"  # named explicitly, it is still a target


def test_a_version_marked_bad_during_its_watch_stays_bad(project):
    from rollback_stacks.record import mark

    stacks = project / "rollback_stacks"
    mark("local", "v1.5.0", "bad", "DLQ flood", root=stacks)
    with pytest.raises(rollback_stacks.TargetError, match="was marked bad during its watch"):
        watched("local", 3, {"window_seconds": 900, "samples": 91}, root=stacks)
    assert rollback_stacks.load("local", stacks).find("3").status == "bad"
