"""Record -> list shows it; mark bad -> last-good skips it; prune keeps the protected ones; promote."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import rollback_stacks
from rollback_stacks import TargetError, retention
from rollback_stacks.record import Capture, mark, record
from tests.targets.conftest import snapshot


def _versions(cli, root: Path, stack: str = "local") -> list[dict]:
    result = cli("targets", "list", stack, "--format", "json", "--root", str(root))
    assert result.code == 0, result.err
    return json.loads(result.out)["versions"]


def test_record_then_list_shows_it_with_status(root: Path, cli) -> None:
    result = cli("record", "local", "--label", "v1.6.0", "--git-sha", "0123abc", "--deployment-id", "dpl_v160",
                 "--function", "worker_fail_job=functions/worker_fail_job.simple.sql",
                 "--flag", "notif_frequency_cap=3", "--flag", "feature_x=true", "--stack-version", "9",
                 "--root", str(root))
    assert result.code == 0, result.err
    assert "recorded local version 4 (v1.6.0) as candidate" in result.out
    rows = _versions(cli, root)
    assert [(r["version"], r["label"], r["status"]) for r in rows][-1] == (4, "v1.6.0", "candidate")
    v = rollback_stacks.load("local", root).find("4")
    assert v.jobs.flags["notif_frequency_cap"] == 3 and v.jobs.flags["feature_x"] is True
    assert v.database.functions["worker_fail_job"].file == "functions/worker_fail_job.simple.sql"
    assert v.database.schema_fingerprint == rollback_stacks.load("local", root).versions[2].database.schema_fingerprint
    assert "versions/0004.yaml" in (root / "local" / "rollback.sum").read_text()
    text = cli("targets", "list", "local", "--root", str(root)).out
    assert "v1.6.0" in text and "candidate" in text and "last-good" in text


def test_record_from_file_computes_hashes(root: Path, tmp_path: Path) -> None:
    draft = (root / "local" / "versions" / "0002.yaml").read_text()
    for line in draft.splitlines():
        if line.strip().startswith(("version:", "created_at:")):
            draft = draft.replace(line + "\n", "")
    draft = draft.replace("label: v1.4.2", "label: v1.4.3").replace("schema_version: 3", "schema_version: 4")
    src = tmp_path / "new.yaml"
    src.write_text(draft)
    v = record("local", Capture(label="v1.4.3", source=src, status="known-good"), root=root)
    assert (v.version, v.database.schema_version, len(v.database.migrations)) == (4, 4, 8)
    assert rollback_stacks.load("local", root).resolve("last-good").label == "v1.4.3"


def test_record_refuses_inconsistent_schema_range_and_writes_nothing(root: Path, cli) -> None:
    before = snapshot(root)
    result = cli("record", "local", "--label", "v1.6.0", "--git-sha", "0123abc", "--schema-version", "3",
                 "--root", str(root))
    assert result.code == 1
    assert "app.requires_schema" in result.err and "a range containing database.schema_version 3" in result.err
    assert snapshot(root) == before


def test_record_refuses_missing_function_file(root: Path) -> None:
    before = snapshot(root)
    with pytest.raises(TargetError, match=r"versions/0004\.yaml:\d+: database\.functions\.notif_send\.file: "
                                          r"got missing functions/nope\.sql"):
        record("local", Capture(label="v1.6.0", git_sha="abc1234", functions={"notif_send": "functions/nope.sql"}),
               root=root)
    assert snapshot(root) == before


def test_record_refuses_duplicate_label(root: Path) -> None:
    with pytest.raises(TargetError, match="a label unique in the stack"):
        record("local", Capture(label="v1.4.2", git_sha="abc1234"), root=root)


def test_mark_bad_then_last_good_skips_it(root: Path, cli) -> None:
    result = cli("targets", "mark", "local", "v1.4.2", "--status", "bad", "--reason", "DLQ flood", "--by", "oncall",
                 "--root", str(root))
    assert result.code == 0, result.err
    rec = rollback_stacks.load("local", root)
    assert rec.resolve("last-good").label == "v1.3.0"
    history = rec.find("2").status_history
    assert [(h.previous, h.status, h.reason, h.by) for h in history] == [("known-good", "bad", "DLQ flood", "oncall")]
    refused = cli("targets", "show", "local", "previous", "--deployed", "3", "--root", str(root))
    assert refused.code == 0 and "label: v1.3.0" in refused.out
    again = cli("targets", "mark", "local", "2", "--status", "bad", "--reason", "x", "--root", str(root))
    assert again.code == 1 and "already bad" in again.err


def test_mark_candidate_known_good_and_refusals(root: Path) -> None:
    v = mark("local", "v1.5.0", "known-good", "healthy for 15 min", root=root,
             now=datetime(2026, 8, 1, tzinfo=UTC))
    assert v.status == "known-good" and rollback_stacks.load("local", root).resolve("last-good").version == 3
    with pytest.raises(TargetError, match="empty reason"):
        mark("local", "1", "bad", "  ", root=root)
    with pytest.raises(TargetError, match="matches no version"):
        mark("local", "v9", "bad", "x", root=root)


def test_prune_keeps_deployed_and_last_good(root: Path, cli) -> None:
    for n, label in enumerate(["v1.6.0", "v1.7.0", "v1.8.0"], start=4):
        record("local", Capture(label=label, git_sha="abc1234", status="known-good"), root=root)
        assert rollback_stacks.load("local", root).versions[-1].version == n
    mark("local", "v1.8.0", "bad", "regression", root=root)
    rec = rollback_stacks.load("local", root)
    assert [v.version for v in retention.plan(rec.versions, 2)] == [1, 2, 3]
    dry = cli("targets", "prune", "local", "--retain", "2", "--deployed", "2", "--dry-run", "--root", str(root))
    assert dry.code == 0 and "would prune 2 version(s)" in dry.out
    assert len(rollback_stacks.load("local", root).versions) == 6
    result = cli("targets", "prune", "local", "--retain", "1", "--deployed", "v1.4.2", "--root", str(root))
    assert result.code == 0, result.err
    rec = rollback_stacks.load("local", root)
    assert [(v.version, v.status) for v in rec.versions] == [(2, "known-good"), (5, "known-good"), (6, "bad")]
    assert "versions/0001.yaml" not in (root / "local" / "rollback.sum").read_text()
    assert rec.resolve("last-good").version == 5


@pytest.mark.parametrize(("retain", "deployed", "pruned"), [(10, None, []), (1, None, [1]), (1, 1, []), (2, None, [])])
def test_retention_plan_on_examples(retain: int, deployed: int | None, pruned: list[int]) -> None:
    rec = rollback_stacks.load("local")
    assert [v.version for v in retention.plan(rec.versions, retain, deployed)] == pruned


def test_prune_refuses_zero(root: Path, cli) -> None:
    result = cli("targets", "prune", "local", "--retain", "0", "--root", str(root))
    assert result.code == 1 and "expected at least 1" in result.err


def test_promote_staging_to_prod_applies_overrides(root: Path, cli) -> None:
    record("staging", Capture(label="v1.6.0", git_sha="abc1234", status="known-good",
                              functions={"notif_send": "functions/notif_send.idempotent.sql"}), root=root)
    (root / "staging" / "functions" / "notif_send.v16.sql").write_text(
        (root / "staging" / "functions" / "notif_send.capped.sql").read_text() + "\n-- v1.6.0\n")
    mark("staging", "v1.6.0", "bad", "wrong function", root=root)
    record("staging", Capture(label="v1.6.1", git_sha="abc1235", status="known-good",
                              functions={"notif_send": "functions/notif_send.v16.sql"}), root=root)
    result = cli("targets", "promote", "v1.6.1", "--from", "staging", "--to", "prod", "--root", str(root))
    assert result.code == 0, result.err
    assert "to prod version 4 (v1.6.1) as candidate" in result.out
    prod = rollback_stacks.load("prod", root)
    v = prod.find("v1.6.1")
    assert v.app.domains == ["shop.example.com", "www.shop.example.com"]
    assert v.health.http[0].url == "https://shop.example.com/api/health" and v.snapshot.backend == "rds"
    assert (v.promoted_from.stack, v.promoted_from.version) == ("staging", 5)
    assert (root / "prod" / "functions" / "notif_send.v16.sql").is_file()
    assert "functions/notif_send.v16.sql" in (root / "prod" / "rollback.sum").read_text()
    assert prod.resolve("4", deployed=2).label == "v1.6.1"


@pytest.mark.parametrize(("ref", "why"), [("v1.5.0", "candidate"), ("v1.4.2", "already version 2 there"),
                                          ("v7", "matches no version")])
def test_promote_refusals_write_nothing(root: Path, cli, ref: str, why: str) -> None:
    before = snapshot(root)
    result = cli("targets", "promote", ref, "--from", "staging", "--to", "prod", "--root", str(root))
    assert result.code == 1 and why in result.err
    assert snapshot(root) == before


def test_promote_refuses_conflicting_sql(root: Path) -> None:
    (root / "staging" / "functions" / "notif_send.v16.sql").write_text(
        "CREATE OR REPLACE FUNCTION public.notif_send() RETURNS void LANGUAGE sql AS $$ $$;\n")
    record("staging", Capture(label="v1.6.0", git_sha="abc1234", status="known-good",
                              functions={"notif_send": "functions/notif_send.v16.sql"}), root=root)
    (root / "prod" / "functions" / "notif_send.v16.sql").write_text("-- something else\n")
    before = snapshot(root)
    with pytest.raises(TargetError, match=r"prod/functions/notif_send\.v16\.sql: got different content"):
        rollback_stacks.promote.promote("v1.6.0", root=root)
    assert snapshot(root) == before
