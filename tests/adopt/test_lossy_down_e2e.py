"""A lossy down file through the CLI and the engine, as a new user meets it: `rollback init` + `record` on the corpus
set `mixed` (a DELETE, a DROP TYPE … CASCADE and a DO block in one down file), rows in place at version 2. The plan
lists each loss with its kind, object and count in text, Markdown and JSON; `rollback apply` without
--allow-data-loss is refused and changes nothing; the stack's rollback:dataLoss.dynamicSql policy takes the DO block
off the refusal (the counted losses stay); --allow-data-loss applies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from tests.adopt.test_adopt_corpus_e2e import Adopter
from tests.components.test_data_loss_corpus import LOSSY, fingerprint

pytestmark = pytest.mark.e2e
SOURCE = LOSSY / "mixed"
DOWN = "0002_sso.down.sql"
SEEDED = ("ann@example.test", "bob@example.test", "cy@example.test", "2024-01-0")  # row values: never shown


def apply(adopter: Adopter, *flags: str) -> Any:
    return adopter.run("apply", "app", "--to", "s1", "--yes", "--reason", "lossy down", *flags, ok=False)


def test_a_lossy_down_is_planned_with_counts_refused_unchanged_and_applied_when_allowed(adopter: Adopter) -> None:
    adopter.run("init", "app", "--migrations-dir", str(SOURCE), "--components", "schema")
    adopter.record_all([1, 2])
    adopter.apply(2)
    with psycopg.connect(adopter.dsn) as conn:
        conn.execute((SOURCE / "seed.sql").read_text())

    plans = {fmt: adopter.run("plan", "app", "--to", "s1", "--format", fmt, ok=False) for fmt in
             ("text", "markdown", "json")}
    assert all(p.returncode == 2 for p in plans.values()), {f: p.stderr for f, p in plans.items()}
    schema = next(s for s in json.loads(plans["json"].stdout)["steps"] if s["component"] == "SchemaVersion")
    [down] = schema["sql"]
    assert down["file"] == DOWN
    assert [(d["kind"], d["object"], d["drops"], d["rows"]) for d in down["destructive"]] == [
        ("delete", "table sessions", "rows of table sessions", 2),
        ("drop type", "type tier", "column users.tier", 2),
        ("cannot tell", "a DO block", "a DO block", None)]
    assert ("- `0002_sso.down.sql`; deletes rows of table sessions: **2 rows** now; drops column users.tier "
            "(with type tier): **2 rows** now; runs a DO block: cannot tell: dynamic SQL: what it changes is known "
            "only when it runs") in plans["markdown"].stdout
    text = plans["text"].stdout
    for line in (f"{DOWN}: deletes rows of table sessions (2 rows)",
                 f"{DOWN}: drops column users.tier (with type tier) (2 rows)",
                 f"{DOWN}: runs a DO block (cannot tell: dynamic SQL: what it changes is known only when it runs)"):
        assert line in text, text
    assert all(f"data loss in release-schema-migrate: {DOWN} runs a DO block" in p.stdout
               for f, p in plans.items() if f != "json")

    before = fingerprint(adopter.dsn)
    refused = apply(adopter)
    assert refused.returncode == 1
    error = " ".join(refused.stderr.split())
    assert f"data-loss pre-check refused the migration: {DOWN} deletes rows of table sessions (2 rows); {DOWN} " \
           "drops column users.tier (with type tier) (2 rows); " in error and "runs a DO block" in error
    assert fingerprint(adopter.dsn) == before and adopter.live_version() == (2, False)

    settings = adopter.project / "Pulumi.app.yaml"
    doc = yaml.safe_load(settings.read_text())
    doc["config"]["rollback:dataLoss"] = {"dynamicSql": "allow"}
    settings.write_text(yaml.safe_dump(doc, sort_keys=False))
    planned = json.loads(adopter.run("plan", "app", "--to", "s1", "--format", "json", ok=False).stdout)
    warnings = [w for w in planned["warnings"] if w.startswith("data loss in")]
    assert len(warnings) == 2 and not any("DO block" in w for w in warnings), warnings
    still = apply(adopter)
    assert still.returncode == 1 and "runs a DO block" not in still.stderr
    assert "deletes rows of table sessions (2 rows)" in " ".join(still.stderr.split())
    assert fingerprint(adopter.dsn) == before

    allowed = apply(adopter, "--allow-data-loss")
    assert allowed.returncode == 0
    assert adopter.live_version() == (1, False)
    adopter.assert_same_as_migrate(SOURCE, 1)
    # the values were kept aside (the DO block's cannot be: the plan said so), and the report lists them
    assert "cannot keep (restore the snapshot to get these back): 0002_sso.down.sql: a DO block" in " ".join(
        planned.get("notes") or []), planned.get("notes")
    reports = [json.loads(p.read_text()) for p in Path(adopter.reports).rglob("report.json")]
    kept = next(s["kept"] for r in reports for s in r["steps"] if s.get("kept"))
    assert sorted((k["kind"], k["relation"], k.get("columns"), k["rows"]) for k in kept) == [
        ("delete", "sessions", None, 2), ("drop type", "users", ["tier"], 3)], kept
    with psycopg.connect(adopter.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM rollback_control.kept_sets WHERE state = 'kept'").fetchone() == (2,)
    shown = "".join(p.stdout + p.stderr for p in (*plans.values(), refused, still, allowed))
    shown += "".join(path.read_text() for path in Path(adopter.reports).rglob("report.*"))
    assert not any(value in shown for value in SEEDED)
