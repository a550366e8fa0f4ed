"""The lossy corpus (tests/corpus/lossy/, one golang-migrate set per kind of data loss) through SchemaVersionProvider
against the sandbox's PostgreSQL: with rows in place at version 2, the plan of the way back to 1 lists each loss with
its count; the apply without allow_data_loss is refused and changes nothing (version row, rows, schema, sequences);
with it, it applies, leaving what golang-migrate's own CLI leaves."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

from components.providers.base import StepFailed
from components.providers.schema import SchemaVersionProvider
from tests import golang_migrate as gm
from tests.components.conftest import checksums
from tests.databases import create_database, drop_database

LOSSY = Path(__file__).resolve().parents[1] / "corpus" / "lossy"
DYNAMIC = "dynamic SQL: what it changes is known only when it runs"

# kind → (kind, drops, rows now) of each loss the way back from 2 to 1 reports, in run order
EXPECTED: dict[str, list[tuple[str, str, int | None]]] = {
    "drop_schema_cascade": [("drop schema", "table archive.events", 3), ("drop schema", "table archive.notes", 2)],
    "drop_type_cascade": [("drop type", "column tasks.priority", 3)],
    "type_change_using": [("type change", "values of column orders.total (numeric(12,2) → integer, USING an "
                                          "expression)", 3)],
    "narrowing_varchar": [("type change", "values of column users.nickname (character varying(32) → varchar(8), "
                                          "USING a cast)", 2)],
    "numeric_scale": [("type change", "values of column prices.amount (numeric(12,4) → numeric(10, 2))", 2)],
    "text_to_int": [("type change", "values of column imports.code (text → integer, USING a cast)", 2)],
    "delete_where": [("delete", "rows of table sessions", 2)],
    "update_column": [("update", "column accounts.plan", 3)],
    "do_block": [("cannot tell", "a DO block", None)],
    "execute": [("cannot tell", "EXECUTE drop_flag", None), ("cannot tell", "EXECUTE drop_flag", None)],
    "truncate": [("truncate", "table carts", 2), ("truncate", "table cart_items", 3),
                 ("drop column", "column carts.currency", 2)],
    "drop_sequence": [("drop sequence", "sequence invoice_number_seq", 1)],
    "drop_extension": [("drop extension", "column users.email", 2)],
    "select_function": [("cannot tell", "SELECT purge_old_drafts()", None)],
    "mixed": [("delete", "rows of table sessions", 2), ("drop type", "column users.tier", 2),
              ("cannot tell", "a DO block", None)],
}
DYNAMIC_KINDS = ("do_block", "execute", "select_function")  # only dynamic SQL: allowed by the policy alone


def corpus(kind: str) -> tuple[dict[str, str], str]:
    """(migration files by name, seed SQL) of one corpus set."""
    root = LOSSY / kind
    files = {p.name: p.read_text() for p in sorted(root.glob("*.sql")) if p.name != "seed.sql"}
    return files, (root / "seed.sql").read_text()


def props(files: dict[str, str], target: int, **extra: Any) -> dict[str, Any]:
    return {"target_version": target, "sql": files, "checksums": checksums(files), "allow_data_loss": False,
            "jobs_frozen_by": None, **extra}


USER_TABLES = """
SELECT format('%I.%I', n.nspname, c.relname), c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'rollback_control')
       AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1"""


def fingerprint(dsn: str) -> dict[str, Any]:
    """Every table's rows (a digest), every sequence's state, every column's type, schemas, types, extensions and
    functions: what a refused apply must leave as it was (schema_migrations, the version row, included)."""
    out: dict[str, Any] = {}
    with psycopg.connect(dsn) as conn:
        for rel, kind in conn.execute(USER_TABLES).fetchall():
            query = f"SELECT last_value, is_called FROM {rel}" if kind == "S" else \
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {rel} t"
            out[rel] = conn.execute(query).fetchone()
        out["columns"] = conn.execute(
            "SELECT attrelid::regclass::text, attname, format_type(atttypid, atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE a.attnum > 0 "
            "AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', "
            "'information_schema', 'rollback_control') ORDER BY 1, 2").fetchall()
        out["catalog"] = conn.execute(  # rollback_control, the product's own schema, holds the values kept aside
            "SELECT (SELECT array_agg(nspname ORDER BY nspname) FROM pg_namespace "
            " WHERE nspname <> 'rollback_control'), "
            "(SELECT array_agg(extname ORDER BY extname) FROM pg_extension), "
            "(SELECT array_agg(typname ORDER BY typname) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'rollback_control')), "
            "(SELECT array_agg(proname ORDER BY proname) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))").fetchone()
    return out


def at_two(dsn: str, kind: str) -> tuple[SchemaVersionProvider, dict[str, Any], dict[str, str]]:
    """The set applied to version 2 by the provider, its seed rows in place."""
    files, seed = corpus(kind)
    p = SchemaVersionProvider()
    outs = p.create(p.check({}, props(files, 2)).inputs).outs
    with psycopg.connect(dsn) as conn:
        conn.execute(seed)
    return p, outs, files


# kinds whose values cannot be kept: dynamic SQL (what it changes is known only when it runs) and a sequence's position
DYNAMIC_LOSS = {"mixed": ("public.sso_audit",)}  # the rows the DO block of a set drops
NOT_KEPT = ("do_block", "execute", "select_function", "drop_sequence")


@pytest.mark.parametrize("kind", sorted(k for k in EXPECTED if k not in NOT_KEPT))
def test_values_a_lossy_down_destroys_are_kept_and_come_back_with_the_up(db: str, kind: str) -> None:
    """Allowed, the down keeps every counted value aside (kept sets with at least that many rows, no value in the
    outputs); the up of version 2 puts them back: the rows, their values and the sequences are as before the down."""
    p, outs, files = at_two(db, kind)
    before = fingerprint(db)
    down = p.update("schema", outs, p.check(outs, props(files, 1, allow_data_loss=True)).inputs).outs
    kept = {(k["relation"], k["kind"]): k for k in down["kept"]}
    for loss, drops, rows in EXPECTED[kind]:
        if loss == "cannot tell":
            continue
        noun, name = re.search(r"(table|column) (\S+)", drops).groups()  # type: ignore[union-attr]
        relation = name.rsplit(".", 1)[0] if noun == "column" else name
        assert kept[(relation, loss)]["rows"] >= (rows or 0), (kind, loss, drops, down["kept"])
    assert all(k.get("from_version") is None and k["schema_version"] == 2 for k in down["kept"])
    up = p.update("schema", down, p.check(down, props(files, 2, allow_data_loss=True)).inputs).outs
    assert {r["id"] for r in up["restored"]} == {k["id"] for k in down["kept"]}
    assert all(r["state"] == "restored" and r["gone"] == 0 for r in up["restored"]), up["restored"]
    after = fingerprint(db)
    for table in DYNAMIC_LOSS.get(kind, ()):  # what dynamic SQL destroyed: not known beforehand, not kept
        assert after.pop(table) != before.pop(table)
    assert after == before


def test_every_set_is_a_golang_migrate_directory_with_seed_rows() -> None:
    assert sorted(p.name for p in LOSSY.iterdir() if p.is_dir()) == sorted(EXPECTED)
    for kind in EXPECTED:
        files, seed = corpus(kind)
        assert gm.versions(LOSSY / kind) == [1, 2] and len(files) == 4 and seed.strip(), kind


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_a_lossy_down_is_counted_refused_without_change_and_applied_when_allowed(sandbox, db: str, kind: str) -> None:
    p, outs, files = at_two(db, kind)
    checked = p.check(outs, props(files, 1)).inputs
    plan = checked["plan"]
    down = next(f for f in files if f.startswith("0002_") and f.endswith(".down.sql"))
    assert plan["files"] == [down]
    assert [(d["kind"], d["drops"], d["rows"]) for d in plan["destructive"]] == EXPECTED[kind]
    assert all(d["file"] == down for d in plan["destructive"])
    refused = [d for d in plan["destructive"] if d["rows"] or d.get("unknown")]
    assert refused and len(plan["data_loss"]) == len(refused)
    assert all(item.startswith(f"{down} ") for item in plan["data_loss"])
    for d in plan["destructive"]:
        if d["rows"] is None:
            assert d["unknown"] == DYNAMIC and d["dynamic"] is True, d
            assert f"(cannot tell: {DYNAMIC})" in " ".join(plan["data_loss"])
        else:
            assert f"({d['rows']} " in " ".join(plan["data_loss"])

    before = fingerprint(db)
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT version, dirty FROM schema_migrations").fetchall() == [(2, False)]
    with pytest.raises(StepFailed, match=rf"data-loss pre-check refused the migration: {down} "):
        p.update("schema", outs, checked)
    assert fingerprint(db) == before

    done = p.update("schema", outs, {**checked, "allow_data_loss": True}).outs
    assert done["version"] == 1 and done["applied"] == [down]
    # what golang-migrate's own CLI leaves from the same rows: the same schema and the same data
    oracle = create_database(sandbox, "lossy")
    try:
        gm.goto(oracle, LOSSY / kind, 2)
        with psycopg.connect(oracle) as conn:
            conn.execute(corpus(kind)[1])
        gm.goto(oracle, LOSSY / kind, 1)
        env = {**sandbox.env(), "PGPASSWORD": sandbox.secrets["pg_password"]}
        assert gm.schema_dump(db, env) == gm.schema_dump(oracle, env)
        assert fingerprint(db) == fingerprint(oracle)
    finally:
        drop_database(sandbox, oracle)


@pytest.mark.parametrize("kind", DYNAMIC_KINDS)
def test_dynamic_sql_runs_without_allow_data_loss_when_the_stack_allows_it(db: str, kind: str) -> None:
    p, outs, files = at_two(db, kind)
    checked = p.check(outs, props(files, 1, dynamic_sql="allow")).inputs
    assert checked["plan"]["data_loss"] == []
    assert [d["kind"] for d in checked["plan"]["destructive"]] == [k for k, _, _ in EXPECTED[kind]]  # still listed
    assert p.update("schema", outs, checked).outs["version"] == 1


def test_the_dynamic_sql_policy_does_not_allow_counted_losses(db: str) -> None:
    p, outs, files = at_two(db, "delete_where")
    checked = p.check(outs, props(files, 1, dynamic_sql="allow")).inputs
    assert checked["plan"]["data_loss"] == ["0002_guest_sessions.down.sql deletes rows of table sessions (2 rows)"]
    with pytest.raises(StepFailed, match="data-loss pre-check refused"):
        p.update("schema", outs, checked)


HISTORY = {
    "0001_a.up.sql": "CREATE TABLE a (id int PRIMARY KEY, v text);",
    "0001_a.down.sql": "DROP TABLE a;",
    "0002_m.up.sql": "CREATE TYPE m AS ENUM ('x', 'y'); ALTER TABLE a ADD COLUMN m m;",
    "0002_m.down.sql": "DROP TYPE m CASCADE;",
    "0003_b.up.sql": "CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);",
    "0003_b.down.sql": "DELETE FROM b WHERE id > 1; DROP TABLE b;",
    "0004_v.up.sql": "ALTER TABLE a ALTER COLUMN v TYPE varchar(40);",
    "0004_v.down.sql": "UPDATE a SET v = 'gone' WHERE id = 1; TRUNCATE b; "
                       "ALTER TABLE a ALTER COLUMN v TYPE varchar(2);",
    "0005_f.up.sql": "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';",
    "0005_f.down.sql": "DO $$ BEGIN PERFORM 1; END $$; SELECT f(); DROP FUNCTION f();",
}


class Counting:
    """A connection that records every query it is sent (one each: a round trip)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn, self.sent = conn, []

    def execute(self, query: Any, params: Any = None) -> Any:
        self.sent.append(query)
        return self.conn.execute(query, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


@pytest.fixture
def at_five(db: str) -> str:
    p = SchemaVersionProvider()
    p.create(p.check({}, props(HISTORY, 5)).inputs)
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO a VALUES (1, 'one', 'x'), (2, 'two', NULL), (3, NULL, 'y'); "
                      "INSERT INTO b VALUES (1, 1), (2, 1), (3, 2)")
    return db


def test_two_round_trips_count_every_step_read_only_and_leave_the_session_as_it_was(at_five: str) -> None:
    from components.providers import migrations as mig
    from components.providers.schema import destructive_now

    steps = mig.plan(mig.parse(list(HISTORY)), 5, 1).steps
    for autocommit in (False, True):
        with psycopg.connect(at_five, autocommit=autocommit) as raw:
            if not autocommit:
                raw.execute("SELECT 1")  # inside the caller's transaction: a savepoint
            conn = Counting(raw)
            got = destructive_now(conn, HISTORY, steps)  # type: ignore[arg-type]
            assert len(conn.sent) == 2, conn.sent
            assert raw.execute("SHOW transaction_read_only").fetchone() == ("off",)
            assert raw.info.transaction_status == (psycopg.pq.TransactionStatus.IDLE if autocommit else
                                                   psycopg.pq.TransactionStatus.INTRANS)
    assert [(d["file"], d["kind"], d["drops"], d["rows"]) for d in got] == [
        ("0005_f.down.sql", "cannot tell", "a DO block", None),
        ("0005_f.down.sql", "cannot tell", "SELECT f()", None),
        ("0004_v.down.sql", "update", "column a.v", 1),
        ("0004_v.down.sql", "truncate", "table b", 3),
        ("0004_v.down.sql", "type change", "values of column a.v (character varying(40) → varchar(2))", 2),
        ("0003_b.down.sql", "delete", "rows of table b", 2),
        ("0003_b.down.sql", "drop table", "table b", 3),
        ("0002_m.down.sql", "drop type", "column a.m", 2)]
    with psycopg.connect(at_five) as raw:
        conn = Counting(raw)  # the ups: a widening type change is resolved, and needs no count
        ups = destructive_now(conn, HISTORY, mig.plan(mig.parse(list(HISTORY)), 1, 5).steps)  # type: ignore[arg-type]
        assert [(d["kind"], d["rows"]) for d in ups] == [("type change", 0)] and len(conn.sent) == 1
        conn = Counting(raw)
        assert destructive_now(conn, HISTORY, mig.plan(mig.parse(list(HISTORY)), 0, 1).steps) == []  # type: ignore
        assert conn.sent == []  # nothing that can destroy: no round trip at all


def test_counting_never_writes_and_never_shows_a_value(db: str) -> None:
    from components.providers.data_loss import measure, message

    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, code text); CREATE TABLE log (n int); "
                     "INSERT INTO t VALUES (1, 'secret-token-1'), (2, '7'); "
                     "CREATE FUNCTION note() RETURNS int LANGUAGE sql AS 'INSERT INTO log VALUES (1) RETURNING n'")
        sql = "DELETE FROM t WHERE note() > 0; DELETE FROM t WHERE code::int > 1; DELETE FROM t WHERE id = 2;"
        got = [loss.as_dict() for loss in measure(conn, [("9.down.sql", sql, True)])]
        assert [(d["rows"], d.get("unknown")) for d in got] == [
            (None, "it could not be counted now (SQLSTATE 25006)"),  # a read-only transaction: note() cannot write
            (None, "it could not be counted now (SQLSTATE 22P02)"), (1, None)]
        assert conn.execute("SELECT count(*) FROM log").fetchone() == (0,)
        assert "secret-token" not in repr(got) + " ".join(message(d) for d in got)


def test_an_up_file_is_counted_but_its_dynamic_sql_is_not_reported(db: str) -> None:
    from components.providers.data_loss import measure

    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int, v text); INSERT INTO t VALUES (1, 'a'), (2, NULL)")
        sql = "DO $$ BEGIN PERFORM 1; END $$; UPDATE t SET v = 'b';"
        assert [(loss.kind, loss.rows) for loss in measure(conn, [("2.up.sql", sql, False)])] == [("update", 1)]
        assert [loss.kind for loss in measure(conn, [("2.down.sql", sql, True)])] == ["cannot tell", "update"]


def test_a_lock_in_the_way_makes_the_loss_unknown_in_the_plan(db: str) -> None:
    p, outs, files = at_two(db, "delete_where")
    with psycopg.connect(db) as holder:
        holder.execute("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")
        checked = p.check(outs, props(files, 1, locks={"timeout_ms": 100, "budget_ms": 0})).inputs
        holder.rollback()
    assert checked["plan"]["data_loss"] == ["unknown: a session holds a lock on a table the down files drop"]


def test_the_sequence_of_a_serial_or_identity_column_goes_with_its_column(db: str) -> None:
    from components.providers.data_loss import measure

    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE s (id serial PRIMARY KEY, v text); CREATE TABLE i (id int GENERATED ALWAYS AS "
                     "IDENTITY, n int GENERATED BY DEFAULT AS IDENTITY); CREATE SEQUENCE free_seq; "
                     "INSERT INTO s (v) VALUES ('a'), (NULL); INSERT INTO i DEFAULT VALUES; SELECT nextval('free_seq')")

        def losses(sql: str) -> list[tuple[str, int | None]]:
            return [(loss.drops, loss.rows) for loss in measure(conn, [("9.down.sql", sql, True)])]

        assert losses("DROP TABLE s, i") == [("table s", 2), ("table i", 1)]
        assert losses("ALTER TABLE i DROP COLUMN n") == [("column i.n", 1)]
        assert losses("DROP TABLE s; DROP SEQUENCE s_id_seq; DROP SEQUENCE free_seq") == [
            ("table s", 2), ("sequence free_seq", 1)]
        assert losses("DROP SEQUENCE s_id_seq CASCADE") == [("sequence s_id_seq", 1)]  # its column stays
