"""The shipped example stacks, the generated JSON Schema and the public API."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

import rollback_stacks
from rollback_stacks import TargetError, docs, schema, sums
from rollback_stacks.errors import RollbackError
from tests.targets.conftest import STACKS


@pytest.mark.parametrize("stack", ["local", "staging", "prod"])
def test_example_stacks_validate(stack: str) -> None:
    rec = rollback_stacks.load(stack)
    assert rec.name == stack and rec.dir == STACKS / stack
    assert [v.label for v in rec.versions] == ["v1.3.0", "v1.4.2", "v1.5.0"]
    assert [v.status for v in rec.versions] == ["known-good", "known-good", "candidate"]
    assert rec.resolve("last-good").label == "v1.4.2"
    assert rec.resolve("previous", deployed=3).label == "v1.4.2"
    rec.verify()


def test_local_matches_the_sandbox() -> None:
    rec = rollback_stacks.load("local")
    v130, v142, v150 = rec.versions
    assert [v.app.deployment_id for v in rec.versions] == ["dpl_v130", "dpl_v142", "dpl_v150"]
    assert v150.app.domains == ["app.example.test"] and v150.jobs.backend == "postgres"
    assert v150.health.http[0].url == "${VERCEL_API_URL}/_standin/app/app.example.test/health"
    assert {m.name: (m.min, m.max) for m in v150.health.metrics} == {
        "error_rate": (None, 0.05), "latency_p95_ms": (None, 3000), "availability": (0.99, None)}
    assert v142.jobs.flags != v150.jobs.flags
    assert v142.database.functions["worker_fail_job"].file != v150.database.functions["worker_fail_job"].file
    assert (v130.database.schema_version, v142.database.schema_version, v150.database.schema_version) == (1, 3, 5)
    assert "DROP TABLE" in rec.file("migrations/0005_notification_digests.down.sql").read_text()


def test_shipped_schema_is_generated_from_the_model() -> None:
    assert json.loads(schema.SCHEMA_PATH.read_text()) == rollback_stacks.Version.model_json_schema()
    assert schema.main(["--check"]) == 0


@pytest.mark.parametrize("path", sorted(STACKS.glob("*/versions/*.yaml")), ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_examples_satisfy_the_json_schema_editors_use(path: Path) -> None:
    assert path.read_text().startswith(docs.SCHEMA_HEADER)
    data = json.loads(json.dumps(docs.read(path).data, default=sums._json_default))
    jsonschema.validate(data, json.loads(schema.SCHEMA_PATH.read_text()))


def test_fingerprint_is_over_up_migration_hashes_in_order() -> None:
    rec = rollback_stacks.load("local")
    db = rec.versions[1].database
    ups = [(int(n.split("_")[0]), sums.sha256_file(rec.file(f"migrations/{n}"))) for n in sorted(db.migrations)
           if n.endswith(".up.sql")]
    assert rollback_stacks.fingerprint(ups) == db.schema_fingerprint
    assert rollback_stacks.fingerprint(ups[:1]) == rec.versions[0].database.schema_fingerprint
    assert rollback_stacks.fingerprint(reversed(ups)) != db.schema_fingerprint
    assert rollback_stacks.fingerprint([(v * 10, h) for v, h in ups]) != db.schema_fingerprint  # numbers count


@pytest.mark.parametrize("rel", ["/etc/passwd", "../../etc/passwd", "functions/../../prod/rollback.sum", "", "a\\b"])
def test_file_refuses_paths_leading_out(rel: str) -> None:
    with pytest.raises(TargetError, match="a relative path inside local/"):
        rollback_stacks.load("local").file(rel)


def test_file_refuses_symlinks_leading_out(root: Path) -> None:
    os.symlink("/etc", root / "local" / "functions" / "etc")
    rec = rollback_stacks.load("local", root)
    with pytest.raises(TargetError, match="symlinks leading out"):
        rec.file("functions/etc/passwd")
    assert rec.file("functions/notif_send.basic.sql").is_file()


def test_target_error_is_a_rollback_error() -> None:
    assert issubclass(TargetError, RollbackError)


def test_unknown_stack_lists_the_known_ones(root: Path) -> None:
    with pytest.raises(TargetError, match="one of the stacks under .*: local, prod, staging"):
        rollback_stacks.load("qa", root)
    with pytest.raises(TargetError, match="expected one of the stacks"):
        rollback_stacks.load("../local", root)


def test_retain_comes_from_pulumi_config() -> None:
    assert rollback_stacks.load("prod").retain == 20 and rollback_stacks.load("local").retain == 10
