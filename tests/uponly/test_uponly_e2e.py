"""Up-only histories (Drizzle Kit, Prisma Migrate, Supabase CLI) through the CLI and the engine: adopt, release to
head, roll back to K by the generated way back, and let the tool's own runner roll forward again.

Each result is judged by oracles nobody here wrote: a plain psql replay of the ups (the schema must equal it,
column order aside), drizzle-orm's migrator and the Supabase CLI (they must agree with the database), and
Prisma's documented table semantics (its CLI needs a schema engine it downloads at first run: not here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from rollback_stacks.formats.base import sha256_hex
from tests.databases import create_database, drop_database
from tests.uponly import support
from tests.uponly.support import CORPORA, Corpus

pytestmark = pytest.mark.e2e


class Project:
    """A user's repository adopting an up-only history, its live database (owned by a role that is no superuser)
    and a state backend, driving `rollback` as a subprocess."""

    def __init__(self, sandbox: Any, base: Path, corpus: Corpus) -> None:
        self.sandbox, self.corpus, self.project = sandbox, corpus, base / "project"
        self.project.mkdir()
        (base / "state").mkdir()
        self.su_dsn, self.dsn = support.owned_database(sandbox, "uponly")
        if corpus.preamble:  # the platform (a Supabase project's auth, storage, roles) exists before migration 1
            support.psql(sandbox, self.su_dsn, corpus.preamble)
        self.replays: list[str] = []
        self.reports = base / "reports"
        self.env = {**os.environ, **sandbox.env(), "DATABASE_URL": self.dsn, "ROLLBACK_PROJECT_DIR": str(self.project),
                    "PULUMI_BACKEND_URL": f"file://{base / 'state'}", "ROLLBACK_REPORT_DIR": str(self.reports),
                    "NO_COLOR": "1", "COLUMNS": "200"}

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """`rollback args...` without a TTY; never a traceback, and exit 0 unless ok=False."""
        proc = subprocess.run([sys.executable, "-c", "from rollback.cli import main; main()", *args], env=self.env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900, check=False)
        assert "Traceback" not in proc.stderr, proc.stderr
        if ok:
            assert proc.returncode == 0, f"rollback {' '.join(args)}: {proc.stdout}\n{proc.stderr}"
        return proc

    def apply(self, label: str, *extra: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """Apply a recorded version."""
        return self.run("apply", "app", "--to", label, "--yes", "--reason", "up-only test", *extra, ok=ok)

    def replay(self, upto: str) -> str:
        """A second database holding a plain psql replay of the ups to `upto` (the oracle)."""
        dsn = create_database(self.sandbox, "replay")
        self.replays.append(dsn)
        if self.corpus.preamble:
            support.psql(self.sandbox, dsn, self.corpus.preamble)
        support.psql(self.sandbox, dsn, *self.corpus.ups(upto))
        return dsn

    def assert_schema_is_replay(self, upto: str) -> None:
        """The live schema equals a plain replay of the ups to `upto`, column order aside."""
        assert support.differences(self.dsn, self.replay(upto), self.corpus) == [], f"schema at {upto}"

    def close(self) -> None:
        for dsn in self.replays:
            drop_database(self.sandbox, dsn)
        drop_database(self.sandbox, self.su_dsn)


@pytest.fixture(params=sorted(CORPORA))
def project(request: pytest.FixtureRequest, sandbox: Any, engine_dir: Path, tmp_path: Path) -> Iterator[Project]:
    p = Project(sandbox, tmp_path, CORPORA[request.param])
    try:
        yield p
    finally:
        p.close()


def bookkeeping(project: Project) -> list[tuple[Any, ...]]:
    """The tool's own table, as its runner reads it."""
    query = {"drizzle": 'SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY created_at',
             "prisma": "SELECT migration_name, checksum, finished_at IS NOT NULL, rolled_back_at IS NOT NULL, "
                       "applied_steps_count FROM _prisma_migrations ORDER BY started_at, migration_name",
             "supabase": "SELECT version, name FROM supabase_migrations.schema_migrations ORDER BY version"}
    return support.rows(project.dsn, query[project.corpus.format])


def assert_bookkeeping_says(project: Project, upto: str) -> None:
    """The tool's table says exactly the migrations up to `upto` are applied, as the tool itself writes it."""
    c = project.corpus
    files = c.ups(upto)
    got = bookkeeping(project)
    if c.format == "drizzle":
        whens = {e["tag"]: e["when"] for e in json.loads((c.migrations / "meta/_journal.json").read_text())["entries"]}
        assert got == [(sha256_hex(f.read_bytes().decode()), whens[f.stem]) for f in files]
    elif c.format == "prisma":
        applied = [(name, checksum) for name, checksum, finished, rolled_back, steps in got
                   if finished and not rolled_back]
        assert applied == [(f.parent.name, sha256_hex(f.read_bytes().decode())) for f in files]
        assert all(steps == 1 for *_, steps in got)
    else:
        assert got == [tuple(f.stem.split("_", 1)) for f in files]


def test_release_roll_back_and_the_tools_own_runner_rolls_forward(project: Project) -> None:
    c = project.corpus
    out = project.run("init", "app", "--migrations-dir", str(c.migrations), "--components", "schema").stdout
    assert f"({c.format}: " in out and f"newest {c.head}" in out
    if c.format == "drizzle":
        assert "note: ignored 0004_manual_fix.sql: not in meta/_journal.json" in out
    for label, name in (("k", c.k), ("head", c.head)):
        project.run("record", "app", "--label", label, "--schema-version", name, "--status", "known-good",
                    "--git-sha", "0a1b2c3d")
    listed = project.run("targets", "list", "app", "--format", "json").stdout
    assert c.k in listed and c.head in listed  # versions shown in the tool's own words

    # head on an empty database, then the generated way back to K with no rows at stake
    project.apply("head")
    project.assert_schema_is_replay(c.head)
    assert_bookkeeping_says(project, c.head)
    project.apply("k")
    project.assert_schema_is_replay(c.k)
    assert_bookkeeping_says(project, c.k)
    # rows valid at K, then up to head: the backfills run over real rows
    support.psql(project.sandbox, project.su_dsn, c.seed)
    project.apply("head")
    project.assert_schema_is_replay(c.head)
    assert_bookkeeping_says(project, c.head)
    before = [support.rows(project.dsn, f"SELECT count(*) FROM {head}")[0][0] for head, _ in KEPT[c.format]]

    # the way back is generated, shown in full with its hazards, and refused without --allow-data-loss
    plan = project.run("plan", "app", "--to", "k", ok=False).stdout  # exit 2: changes
    assert "(generated way back)" in plan and "DELETES_DATA" in plan and "RENAME" in plan.upper(), plan
    markdown = project.run("plan", "app", "--to", "k", "--format", "markdown", ok=False).stdout  # the PR comment
    as_json = json.loads(project.run("plan", "app", "--to", "k", "--format", "json", ok=False).stdout)
    generated = [f for step in as_json["steps"] for f in step.get("sql") or [] if f["file"] == "(generated way back)"]
    assert len(generated) == 1 and generated[0]["destructive"], generated
    for stmt in generated[0]["statements"]:  # every statement, in full, in both
        assert stmt.startswith("-- statement_timeout")
        for line in stmt.split("\n")[1:]:
            assert line.strip() in markdown and line.strip() in plan, line
    refused = project.apply("k", ok=False)
    assert refused.returncode == 1 and "data-loss pre-check refused" in refused.stderr
    project.assert_schema_is_replay(c.head)  # nothing changed

    project.apply("k", "--allow-data-loss")
    project.assert_schema_is_replay(c.k)
    assert_bookkeeping_says(project, c.k)
    report = max(project.reports.glob("app-*/report.md")).read_text()  # the SQL that ran is kept
    assert "## SQL that ran" in report and "RENAME" in report.upper(), report
    after = [support.rows(project.dsn, f"SELECT count(*) FROM {k}")[0][0] for _, k in KEPT[c.format]]
    assert after == before  # rows kept in every table that exists at K and head
    for query, expected in RENAMED_VALUES[c.format]:
        assert support.rows(project.dsn, query) == expected  # renamed columns came back with their values

    # the tool's own runner now applies exactly K+1..head, and then finds nothing to do
    forward(project)
    project.assert_schema_is_replay(c.head)
    assert_bookkeeping_says(project, c.head)
    project.apply("k", "--allow-data-loss")  # and back once more, then head by us
    project.apply("head")
    project.assert_schema_is_replay(c.head)
    assert_bookkeeping_says(project, c.head)


def forward(project: Project) -> None:
    """The user's own tool rolls forward from our rollback."""
    c = project.corpus
    if c.format == "drizzle":
        done = support.drizzle_migrate(project.dsn, c.migrations)
        assert done.returncode == 0, done.stderr
    elif c.format == "supabase":
        listed = support.supabase(project.dsn, c.migrations.parent.parent, "migration", "list")
        assert listed.returncode == 0, listed.stderr
        cells = [[c.strip(" `") for c in line.split("|")] for line in listed.stdout.splitlines() if "|" in line]
        pending = [row[0] for row in cells[1:] if row[0].isdigit() and row[1] == ""]
        assert len(pending) == len(c.ups(c.head)) - len(c.ups(c.k)), listed.stdout
        done = support.supabase(project.dsn, c.migrations.parent.parent, "migration", "up")
        assert done.returncode == 0, done.stdout + done.stderr
    else:  # Prisma's rule: a folder is pending unless a row has finished_at set and rolled_back_at null
        rows = bookkeeping(project)
        applied = {name for name, _, finished, rolled_back, _ in rows if finished and not rolled_back}
        pending = [f for f in c.ups(c.head) if f.parent.name not in applied]
        assert [f.parent.name for f in pending] == [f.parent.name for f in c.ups(c.head)[len(c.ups(c.k)):]]
        support.psql(project.sandbox, project.dsn, *pending)
        with psycopg.connect(project.dsn, autocommit=True) as conn:
            for f in pending:  # what `prisma migrate deploy` records for each
                conn.execute("INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, "
                             "started_at, applied_steps_count) VALUES (gen_random_uuid()::text, %s, now(), %s, "
                             "now(), 1)", (sha256_hex(f.read_bytes().decode()), f.parent.name))


# Tables that exist at K and at head: (name at head, name at K).
KEPT = {
    "drizzle": [("readers", "readers"), ("bookmarks", "bookmarks"), ("tags", "tags"),
                ("bookmark_tags", "bookmark_tags"), ("folders", "collections")],
    "prisma": [('"Patient"', '"Patient"'), ('"Appointment"', '"Appointment"'), ('"Practitioner"', '"Staff"'),
               ('"Invoice"', '"Invoice"'), ('"AppointmentEvent"', '"AppointmentEvent"')],
    "supabase": [("public.profiles", "public.profiles"), ("public.messages", "public.messages"),
                 ("public.channels", "public.channels"), ("public.memberships", "public.workspace_members")],
}
# Columns renamed after K, read back under their K names: the seed's values.
RENAMED_VALUES: dict[str, list[tuple[str, list[tuple[Any, ...]]]]] = {
    "drizzle": [("SELECT id, title, collection_id FROM bookmarks ORDER BY id",
                 [(1, "Concurrency Control", 1), (2, "CREATE INDEX", 1), (3, "Sourdough basics", 2),
                  (4, "Why queues", 3), (5, "About PostgreSQL", None)]),
                ("SELECT id, title FROM collections ORDER BY id",
                 [(1, "Postgres internals"), (2, "Recipes"), (3, "Reading list")])],
    "prisma": [('SELECT "id", "staffId", "startsAt"::text FROM "Appointment" ORDER BY "id"',
                [("clx0appt0000000000000001", "clx0staff0okafor000000001", "2024-01-09 09:00:00"),
                 ("clx0appt0000000000000002", "clx0staff0okafor000000001", "2024-01-09 09:30:00"),
                 ("clx0appt0000000000000003", "clx0staff0silva000000003", "2023-12-15 16:00:00")])],
    "supabase": [("SELECT name, topic FROM public.channels ORDER BY name",
                  [("design-review", None), ("general", "Company-wide announcements")])],
}


def test_adopting_a_database_the_tool_migrated_starts_from_its_table(sandbox: Any, engine_dir: Path,
                                                                     tmp_path: Path) -> None:
    c = CORPORA["drizzle"]
    project = Project(sandbox, tmp_path, c)
    try:
        done = support.drizzle_migrate(project.dsn, c.migrations)  # the team's CI ran drizzle's migrator
        assert done.returncode == 0, done.stderr
        project.run("init", "app", "--migrations-dir", str(c.migrations), "--components", "schema")
        project.run("record", "app", "--label", "k", "--schema-version", c.k, "--status", "known-good",
                    "--git-sha", "0a1b2c3d")
        live = project.run("record", "app", "--label", "live", "--from-live", "--status", "known-good",
                           "--git-sha", "0a1b2c3d")
        assert "version 2 (live)" in live.stdout
        listed = project.run("targets", "list", "app", "--format", "json").stdout
        assert f'"schema_name": "{c.head}"' in listed  # read from drizzle.__drizzle_migrations
        plan = project.run("plan", "app", "--to", "live", ok=False)  # the stack's first apply: a create, no files
        assert '"direction": "none", "files": []' in plan.stdout, plan.stdout  # we start where drizzle left it
        project.apply("live")
        project.apply("k", "--allow-data-loss")
        project.assert_schema_is_replay(c.k)
        assert_bookkeeping_says(project, c.k)
        again = support.drizzle_migrate(project.dsn, c.migrations)
        assert again.returncode == 0, again.stderr
        project.assert_schema_is_replay(c.head)
    finally:
        project.close()
