"""Integrity: any edit of a recorded migration, function or version file is refused, naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

import rollback_stacks
from rollback_stacks import TargetError


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


TAMPERS = [
    ("migrations/0002_claim_and_feed_indexes.up.sql", "(status, next_run_at)", "(status)",
     "local/migrations/0002_claim_and_feed_indexes.up.sql"),
    ("migrations/0005_notification_digests.down.sql", "DROP TABLE IF EXISTS", "DROP TABLE",
     "local/migrations/0005_notification_digests.down.sql"),
    ("functions/worker_fail_job.simple.sql", "status = 'failed'", "status = 'done'",
     "functions/worker_fail_job.simple.sql"),
    ("versions/0002.yaml", "deployment_id: dpl_v142", "deployment_id: dpl_evil", "local/versions/0002.yaml"),
    ("versions/0001.yaml", "notif_frequency_cap: 5", "notif_frequency_cap: 500", "local/versions/0001.yaml"),
    ("versions/0001.yaml", "status: known-good", "status: bad", "local/versions/0001.yaml"),
    ("rollback.sum", "versions/0001.yaml", "versions/0001.yml", "rollback.sum"),
]


@pytest.mark.parametrize(("rel", "old", "new", "named"), TAMPERS, ids=[t[0] + ":" + t[2] for t in TAMPERS])
def test_tampering_is_refused_naming_the_file(root: Path, cli, rel: str, old: str, new: str, named: str) -> None:
    _edit(root / "local" / rel, old, new)
    with pytest.raises(TargetError, match=named.replace(".", r"\.")):
        rollback_stacks.load("local", root)
    result = cli("targets", "validate", str(root))
    assert result.code == 1 and named in result.err and "ok staging" in result.out


def test_rehashed_version_still_refused_by_its_sums(root: Path) -> None:
    """Editing a migration and its hash in the version document is still caught by rollback.sum."""
    up = root / "local" / "migrations" / "0001_init.up.sql"
    old = rollback_stacks.sums.sha256_file(up)
    up.write_text(up.read_text() + "\n-- sneaky\n")
    new = rollback_stacks.sums.sha256_file(up)
    for doc in (root / "local" / "versions").glob("*.yaml"):
        doc.write_text(doc.read_text().replace(old, new))
    with pytest.raises(TargetError, match=r"local/(migrations/0001_init\.up\.sql|versions/000\d\.yaml)"):
        rollback_stacks.load("local", root)


def test_verify_after_load_catches_later_edits(root: Path) -> None:
    rec = rollback_stacks.load("local", root)
    _edit(root / "local" / "functions" / "notif_send.capped.sql", "v_cap := coalesce(v_cap, 5)",
          "v_cap := coalesce(v_cap, 50)")
    with pytest.raises(TargetError, match=r"functions/notif_send\.capped\.sql: got (changed|different)"):
        rec.verify()


def test_missing_recorded_file(root: Path) -> None:
    (root / "local" / "migrations" / "0003_notifications_idempotency.down.sql").unlink()
    with pytest.raises(TargetError, match=r"0003_\*\.down\.sql|0003_notifications_idempotency\.down\.sql"):
        rollback_stacks.load("local", root)


def test_unrecorded_version_file(root: Path) -> None:
    src = (root / "local" / "versions" / "0003.yaml").read_text()
    (root / "local" / "versions" / "0004.yaml").write_text(
        src.replace("version: 3", "version: 4").replace("label: v1.5.0", "label: v1.5.1")
        .replace("2026-07-20T09:15:00Z", "2026-07-21T09:15:00Z"))
    with pytest.raises(TargetError, match=r"local/versions/0004\.yaml: got an unrecorded file"):
        rollback_stacks.load("local", root)


def test_missing_sums_file(root: Path) -> None:
    (root / "local" / "rollback.sum").unlink()
    with pytest.raises(TargetError, match=r"local/rollback\.sum: got no such file"):
        rollback_stacks.load("local", root)
