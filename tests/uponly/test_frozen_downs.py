"""Frozen downs through the CLI on the sandbox (Drizzle corpus): `rollback downs generate` writes the way back for
review, rollback.sum covers it, `rollback downs seal` records a reviewed edit, an apply runs it as written while the
live schema is the one it was generated from, and stops when it does not reach the target.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from components.providers.wayback import catalog
from tests.uponly import support
from tests.uponly.support import CORPORA
from tests.uponly.test_uponly_e2e import KEPT, Project, assert_bookkeeping_says

pytestmark = pytest.mark.e2e

DOWN = "downs/0009_grey_lynx__0006_lucky_pelican.sql"
DATA_FIX = "UPDATE \"tags\" SET \"color\" = '#000000' WHERE \"color\" IS NULL"


@pytest.fixture
def project(sandbox: Any, engine_dir: Path, tmp_path: Path) -> Iterator[Project]:
    p = Project(sandbox, tmp_path, CORPORA["drizzle"])
    try:
        yield p
    finally:
        p.close()


def one_line_refusal(proc: Any, *words: str) -> None:
    """Exit 1 with one `error:` line naming the cause (no traceback: Project.run checks)."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


def header(text: str) -> dict[str, str]:
    """The `-- rollback: key: value` lines of a frozen down."""
    out = {}
    for line in text.splitlines():
        if line.startswith("-- rollback: ") and ": " in line[len("-- rollback: "):]:
            key, value = line[len("-- rollback: "):].split(": ", 1)
            out.setdefault(key, value)
    return out


def blocks(text: str) -> list[str]:
    """The statement blocks of a frozen down (its comment line(s) and SQL), in order."""
    return [b for b in text.split("\n\n") if b.startswith("-- statement ")]


def sql_of(statement: str) -> str:
    """A statement without its leading comment lines or its semicolon."""
    return "\n".join(line for line in statement.splitlines() if not line.startswith("--")).strip().rstrip(";")


def recorded(project: Project) -> dict[str, str]:
    """rollback.sum of the stack: path -> sha256."""
    text = (project.project / "rollback_stacks" / "app" / "rollback.sum").read_text()
    return {parts[1]: parts[0] for parts in (line.split() for line in text.splitlines()) if parts[0] != "total"}


def live_digest(project: Project, head: dict[str, str]) -> str:
    """The live schema's digest, with the exclusions of a frozen down's header."""
    with psycopg.connect(project.dsn) as conn:
        return catalog.digest(catalog.snapshot(conn, json.loads(head["exclude_schemas"]),
                                               json.loads(head["exclude_tables"])))


def plan_json(project: Project) -> dict[str, Any]:
    proc = project.run("plan", "app", "--to", "k", "--format", "json", ok=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr  # changes
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def generated_sql(plan: dict[str, Any]) -> list[str]:
    """The statements of the plan's generated way back, without their comment lines."""
    files = [f for s in plan["steps"] for f in s.get("sql") or [] if f["file"] == "(generated way back)"]
    assert len(files) == 1, plan
    return [sql_of(s) for s in files[0]["statements"]]


def test_refusals_are_one_line(project: Project, tmp_path: Path) -> None:
    one_line_refusal(project.run("downs", "generate", "nosuch", "--to", "k", ok=False), "nosuch")
    gm = tmp_path / "gm"
    gm.mkdir()
    (gm / "1_init.up.sql").write_text("CREATE TABLE t (id int);\n")
    (gm / "1_init.down.sql").write_text("DROP TABLE t;\n")
    project.run("init", "gm", "--migrations-dir", str(gm), "--components", "schema")
    project.run("record", "gm", "--label", "v1", "--schema-version", "1", "--status", "known-good",
                "--git-sha", "0a1b2c3d")
    one_line_refusal(project.run("downs", "generate", "gm", "--to", "v1", ok=False), "golang-migrate")
    assert not (project.project / "rollback_stacks" / "gm" / "downs").exists()
    proc = project.run("downs", "seal", "gm")
    assert "nothing to seal" in proc.stdout


def test_a_frozen_down_is_reviewed_sealed_and_run_as_written(project: Project) -> None:
    c = project.corpus
    stack = project.project / "rollback_stacks" / "app"
    down = stack / DOWN
    project.run("init", "app", "--migrations-dir", str(c.migrations), "--components", "schema")
    for label, name in (("k", c.k), ("head", c.head)):
        project.run("record", "app", "--label", label, "--schema-version", name, "--status", "known-good",
                    "--git-sha", "0a1b2c3d")
    project.apply("k")
    support.psql(project.sandbox, project.su_dsn, c.seed)
    project.apply("head")
    before = [support.rows(project.dsn, f"SELECT count(*) FROM {h}")[0][0] for h, _ in KEPT[c.format]]

    # nothing to freeze at or above the live version
    one_line_refusal(project.run("downs", "generate", "app", "--to", "head", ok=False), "nothing to generate",
                     c.head)
    generated = generated_sql(plan_json(project))  # the way back an apply would generate now

    # generate: the file under downs/, its header, every statement, covered by rollback.sum
    out = project.run("downs", "generate", "app", "--to", "k").stdout
    assert f"rollback_stacks/app/{DOWN}" in out and f"{len(generated)} statement(s)" in out, out
    text = down.read_text()
    head = header(text)
    assert head["format"] == "drizzle" and re.fullmatch(rf"\d+ {c.head}", head["from"]), head
    assert re.fullmatch(rf"\d+ {c.k}", head["to"]) and int(head["to"].split()[0]) < int(head["from"].split()[0])
    assert head["live_digest"] == live_digest(project, head)
    assert re.fullmatch(r"[0-9a-f]{64}", head["target_digest"]) and head["target_digest"] != head["live_digest"]
    assert "drizzle" in json.loads(head["exclude_schemas"]) and "generated_at" in head
    assert "the statements may be edited" in text and "rollback downs seal" in text
    statements = blocks(text)
    assert [sql_of(b) for b in statements] == generated
    assert all(re.match(r"-- statement \d+ of \d+: statement_timeout \d+ms, lock_timeout \d+ms", b) for b in statements)
    assert "-- hazard DELETES_DATA: " in text
    assert recorded(project)[DOWN] == hashlib.sha256(down.read_bytes()).hexdigest()
    project.run("targets", "validate")

    # the live schema changed since (an index made by hand): the frozen down is not used, the plan says why
    with psycopg.connect(project.su_dsn, autocommit=True) as conn:
        conn.execute('CREATE INDEX "readers_by_hand_idx" ON "readers" ("email")')
    plan = plan_json(project)
    assert any(DOWN in w and "live schema changed since it was generated" in w for w in plan["warnings"]), plan
    assert not any("runs the frozen down" in n for n in plan.get("notes") or []), plan
    assert any("readers_by_hand_idx" in s for s in generated_sql(plan))  # generated again, from live as it is
    with psycopg.connect(project.su_dsn, autocommit=True) as conn:
        conn.execute('DROP INDEX "readers_by_hand_idx"')

    # a file in downs/ without the header is refused, by validation and by seal
    (stack / "downs" / "by_hand.sql").write_text('DROP TABLE "tags";\n')
    one_line_refusal(project.run("downs", "seal", "app", ok=False), "downs/by_hand.sql", "header")
    assert "downs/by_hand.sql" in project.run("targets", "validate", ok=False).stderr
    (stack / "downs" / "by_hand.sql").unlink()

    # a reviewed edit (a data fix on a kept table): unsealed it fails validation naming the file, sealed it passes
    down.write_text(text + f"\n-- statement added in review: a data fix, in a transaction of its own\n{DATA_FIX};\n")
    invalid = project.run("targets", "validate", ok=False)
    assert invalid.returncode == 1 and DOWN in invalid.stderr and "rollback downs seal app" in invalid.stderr
    sealed = project.run("downs", "seal", "app").stdout
    assert f"sealed app/{DOWN}" in sealed
    project.run("targets", "validate")
    assert recorded(project)[DOWN] == hashlib.sha256(down.read_bytes()).hexdigest()

    # apply to K runs it as written: the plan names it, the data fix ran, the schema and the tool's table are K's
    applied = " ".join(project.apply("k", "--allow-data-loss").stdout.split())
    assert f"runs the frozen down {DOWN} as written" in applied, applied
    assert DATA_FIX in applied  # the reviewed SQL is what the plan showed
    project.assert_schema_is_replay(c.k)
    assert_bookkeeping_says(project, c.k)
    assert support.rows(project.dsn, "SELECT id, color FROM tags ORDER BY id") == \
        [(1, "#336791"), (2, "#000000"), (3, "#aa5500")]
    after = [support.rows(project.dsn, f"SELECT count(*) FROM {k}")[0][0] for _, k in KEPT[c.format]]
    assert after == before

    # forward again; a frozen down edited to miss a statement stops the apply: it did not reach the target
    project.apply("head")
    assert live_digest(project, head) == head["live_digest"]  # the schema it was generated from again
    kept = [b for b in statements if not re.search(r'DROP TABLE "public"\."domains"', b)]
    assert len(kept) == len(statements) - 1, statements
    down.write_text(text.split("\n\n-- statement 1 of")[0] + "\n\n" + "\n\n".join(kept) + "\n")
    project.run("downs", "seal", "app")
    failed = project.apply("k", "--allow-data-loss", ok=False)
    stopped = " ".join(failed.stderr.split())
    assert failed.returncode == 1 and f"the frozen down {DOWN} did not reach the target" in stopped, \
        failed.stdout + failed.stderr
    assert "nothing is undone automatically" in stopped
    assert_bookkeeping_says(project, c.head)  # the tool's table was not moved
    assert support.rows(project.dsn, "SELECT to_regclass('public.domains') IS NOT NULL") == [(True,)]

    # finished by hand (what it left out), the next apply finds the schema at K: the frozen down is not used, the
    # generated way back has nothing left to run, and the tool's table moves
    with psycopg.connect(project.su_dsn, autocommit=True) as conn:
        conn.execute('DROP TABLE "public"."domains"')
    again = " ".join(project.apply("k", "--allow-data-loss").stdout.split())
    assert "is not used: the live schema changed" in again and "runs the frozen down" not in again, again
    project.assert_schema_is_replay(c.k)
    assert_bookkeeping_says(project, c.k)
