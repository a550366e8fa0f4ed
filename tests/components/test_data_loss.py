"""The data-loss classifier without a database: each kind read from PostgreSQL's parse tree, the value tests of type
changes, the resolved rows turned into counts, and the words the plan and the pre-check use."""

from __future__ import annotations

import pytest

from components.providers import data_loss as dl
from components.providers.data_loss import CannotTell, Drop, RowChange, Truncate, TypeChange


@pytest.mark.parametrize(("sql", "expected"), [
    ("DROP TABLE IF EXISTS public.a, b CASCADE", [Drop("table", '"public"."a"', cascade=True),
                                                  Drop("table", '"b"', cascade=True)]),
    ('DROP SCHEMA archive, "Old" CASCADE', [Drop("schema", "archive", cascade=True), Drop("schema", "Old",
                                                                                            cascade=True)]),
    ("DROP TYPE public.mood CASCADE", [Drop("type", "public.mood", cascade=True)]),
    ("DROP DOMAIN email", [Drop("type", "email")]),
    ("DROP SEQUENCE IF EXISTS invoice_number_seq", [Drop("sequence", '"invoice_number_seq"')]),
    ("DROP EXTENSION citext CASCADE", [Drop("extension", "citext", cascade=True)]),
    ("ALTER TABLE ONLY t DROP COLUMN IF EXISTS c, ADD COLUMN z int, DROP CONSTRAINT k",
     [Drop("column", '"t"', "c", only=True)]),
    ("ALTER TABLE t DROP COLUMN c CASCADE", [Drop("column", '"t"', "c", cascade=True)]),
    ("-- DROP TABLE hidden;\nDROP INDEX i; DROP VIEW v CASCADE; DROP FUNCTION f(); ALTER TABLE t ALTER c DROP DEFAULT",
     []),
])
def test_drops_are_read_from_the_parse_tree(sql: str, expected: list[dl.Finding]) -> None:
    assert list(dl.classify(sql)) == expected


@pytest.mark.parametrize(("sql", "expected"), [
    ("ALTER TABLE t ALTER COLUMN c TYPE varchar(3)", TypeChange('"t"', "c", "varchar(3)", (3,))),
    ("ALTER TABLE s.t ALTER c SET DATA TYPE numeric(10,2)", TypeChange('"s"."t"', "c", "numeric(10, 2)", (10, 2))),
    ("ALTER TABLE t ALTER c TYPE integer USING c::integer", TypeChange('"t"', "c", "integer", (), "cast")),
    ("ALTER TABLE t ALTER c TYPE mood USING c::text::mood", TypeChange('"t"', "c", "mood", (), "cast")),
    ("ALTER TABLE t ALTER c TYPE integer USING length(c)", TypeChange('"t"', "c", "integer", (), "expression")),
    ("ALTER TABLE t ALTER c TYPE integer USING d::integer", TypeChange('"t"', "c", "integer", (), "expression")),
])
def test_type_changes_keep_the_new_type_its_modifiers_and_how_values_get_there(sql: str,
                                                                               expected: TypeChange) -> None:
    assert dl.classify(sql) == (expected,)


def test_truncate_delete_and_update_keep_what_their_count_needs() -> None:
    assert dl.classify("TRUNCATE ONLY a, public.b CASCADE") == (Truncate('"a"', True, True),
                                                                Truncate('"public"."b"', False, True))
    delete, = dl.classify("DELETE FROM ONLY public.t AS x USING u WHERE x.id = u.id AND u.gone")
    assert delete == RowChange("delete", '"public"."t"', "SELECT count(*) FROM ONLY public.t AS x",
                               "EXISTS (SELECT FROM u WHERE x.id = u.id AND u.gone)")
    update, = dl.classify("WITH old AS (SELECT 1 AS id) UPDATE t SET a = 1, (b, c) = (2, 3), a = 4 "
                          "WHERE id IN (SELECT id FROM old)")
    assert update == RowChange("update", '"t"', "WITH old AS (SELECT 1 AS id) SELECT count(*) FROM t",
                               "id IN (SELECT id FROM old)", ("a", "b", "c"))
    assert dl.classify("DELETE FROM logs") == (RowChange("delete", '"logs"', "SELECT count(*) FROM logs", None),)


@pytest.mark.parametrize(("sql", "what", "dynamic"), [
    ("DO $$ BEGIN DROP TABLE t; END $$", "a DO block", True),
    ("EXECUTE purge(1)", "EXECUTE purge", True),
    ("CALL app.cleanup()", "CALL app.cleanup()", True),
    ("SELECT purge_old(), now()", "SELECT purge_old(), now()", True),
    ("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 1", "INSERT … ON CONFLICT DO UPDATE", False),
    ("MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE", "MERGE", False),
    ("DELETE FROM t WHERE CURRENT OF c", "DELETE … WHERE CURRENT OF", False),
    ("WITH gone AS (DELETE FROM u RETURNING id) UPDATE t SET a = 1", "UPDATE with a data-modifying WITH", False),
    ("DROP OWNED BY app", "DROP OWNED", False),
])
def test_what_cannot_be_counted_is_said(sql: str, what: str, dynamic: bool) -> None:
    found, = dl.classify(sql)
    assert isinstance(found, CannotTell) and (found.what, found.dynamic) == (what, dynamic)


def test_harmless_statements_are_not_findings() -> None:
    assert dl.classify("SELECT pg_catalog.set_config('search_path', '', false); SELECT pg_advisory_xact_lock(1); "
                       "SELECT 1; INSERT INTO t VALUES (1); INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING; "
                       "CREATE TABLE n AS SELECT f(); MERGE INTO t USING u ON t.id = u.id WHEN NOT MATCHED THEN "
                       "INSERT VALUES (u.id); SELECT f() INTO x") == ()
    assert dl.classify("SELECT count(*) FROM t") == (CannotTell("SELECT count()", functions=((None, "count"),)),)
    assert dl.classify("DROP TABLE (") == ()  # the server rejects it too, before it changes anything


def info(old: str, new: str | None, typmod: int = -1, category: str = "S", **extra: object) -> dict[str, object]:
    return {"old": old, "old_full": old, "typmod": typmod, "category": category, "same": old == new, "new": new,
            "new_category": "S", "new_kind": "b", **extra}


@pytest.mark.parametrize(("change", "facts", "test"), [
    (TypeChange("t", "c", "integer", (), "expression"), info("text", "integer"), '"c" IS NOT NULL'),
    (TypeChange("t", "c", "varchar(8)", (8,)), info("character varying", "character varying", 36),
     'char_length("c") > 8'),
    (TypeChange("t", "c", "varchar(64)", (64,)), info("character varying", "character varying", 36), None),
    (TypeChange("t", "c", "varchar(8)", (8,), "cast"), info("text", "character varying"), 'char_length("c") > 8'),
    (TypeChange("t", "c", "varchar(8)", (8,)), info("integer", "character varying", category="N"),
     'char_length("c"::text) > 8'),
    (TypeChange("t", "c", "numeric(10,2)", (10, 2)), info("numeric", "numeric", (12 << 16 | 4) + 4, "N"),
     """("c")::numeric <> 'NaN' AND (round(("c")::numeric, 2) <> ("c")::numeric OR abs(("c")::numeric) >= 1e8)"""),
    (TypeChange("t", "c", "numeric(14,4)", (14, 4)), info("numeric", "numeric", (12 << 16 | 2) + 4, "N"), None),
    (TypeChange("t", "c", "integer", ()), info("numeric", "integer", category="N"),
     'NOT (("c")::numeric = round(("c")::numeric) AND ("c")::numeric BETWEEN -2147483648 AND 2147483647)'),
    (TypeChange("t", "c", "integer", (), "cast"), info("text", "integer"),
     """CASE WHEN "c" ~ '^(0|-?[1-9][0-9]{0,18})$' THEN ("c")::numeric NOT BETWEEN -2147483648 AND 2147483647 """
     "ELSE true END"),
    (TypeChange("t", "c", "bigint", ()), info("integer", "bigint", category="N"), None),
    (TypeChange("t", "c", "text", ()), info("integer", "text", category="N"), None),
    (TypeChange("t", "c", "date", ()), info("timestamp with time zone", "date", category="D"),
     """"c" <> date_trunc('day', "c")"""),
    (TypeChange("t", "c", "mood", (), "cast"), info("mood", "mood", category="E"), None),
    (TypeChange("t", "c", "status", (), "cast"), info("text", "status", new_kind="e"),
     """"c"::text <> ALL (enum_range(NULL::status)::text[])"""),
    (TypeChange("t", "c", "jsonb", ()), info("json", "jsonb", category="U"), '"c" IS NOT NULL'),
    (TypeChange("t", "c", "nope", ()), info("text", None), '"c" IS NOT NULL'),
])
def test_a_type_change_counts_the_values_it_changes_or_cannot_convert(change: TypeChange, facts: dict[str, object],
                                                                      test: str | None) -> None:
    assert dl.value_test(change, '"c"', facts)[0] == test


def test_resolved_rows_become_losses_each_with_its_count_query() -> None:
    schema = Drop("schema", "archive", cascade=True)
    rows: list[dl._Row] = [(0, "root", "archive", None, None), (0, "table", "archive.events", None, None),
                           (0, "column", "public.t", '"c"', None), (0, "sequence", "archive.ids", None, None)]
    got = dl._losses("9.down.sql", schema, rows)
    assert [(c.loss.kind, c.loss.object, c.loss.drops, c.sql) for c in got] == [
        ("drop schema", "schema archive", "table archive.events", "SELECT count(*) FROM ONLY archive.events"),
        ("drop schema", "schema archive", 'column public.t."c"', 'SELECT count("c") FROM ONLY public.t'),
        ("drop schema", "schema archive", "sequence archive.ids", "SELECT count(*) FROM archive.ids WHERE is_called")]
    column = Drop("column", '"t"', "c")
    got = dl._losses("9.down.sql", column, [(0, "root", "t.c", None, None), (0, "column", "t", "c", None)])
    assert [(c.loss.object, c.loss.drops, c.sql) for c in got] == [("column t.c", "column t.c",
                                                                    "SELECT count(c) FROM t")]
    absent = dl._losses("9.down.sql", Drop("table", '"public"."gone"'), [])
    assert [(c.loss.drops, c.loss.rows, c.sql) for c in absent] == [("table public.gone", None, None)]
    update = RowChange("update", '"t"', "SELECT count(*) FROM t", "id > 1", ("a", "new"))
    got = dl._losses("9.down.sql", update, [(0, "relation", "t", None, None), (0, "attribute", "t", "a", {})])
    assert [(c.loss.drops, c.sql) for c in got] == [("column t.a", "SELECT count(*) FROM t WHERE (id > 1) AND "
                                                                   "(a IS NOT NULL)")]
    assert dl._losses("9.down.sql", RowChange("update", '"t"', "SELECT count(*) FROM t", None, ("new",)),
                      [(0, "relation", "t", None, None)]) == []  # only columns the file adds: nothing to lose
    select = CannotTell("SELECT f()", functions=((None, "f"),))
    assert dl._losses("9.down.sql", select, [(0, "function", "f", None, {"volatile": False})]) == []
    [tell] = dl._losses("9.down.sql", select, [(0, "function", "f", None, {"volatile": True})])
    assert (tell.loss.kind, tell.loss.rows, tell.loss.dynamic, tell.sql) == ("cannot tell", None, True, None)


def test_the_words_of_plans_and_refusals() -> None:
    drop = {"file": "2.down.sql", "kind": "drop column", "object": "column items.tag", "drops": "column items.tag",
            "rows": 1, "unit": "rows"}
    assert dl.message(drop) == "2.down.sql drops column items.tag (1 rows)"
    cascade = {**drop, "kind": "drop schema", "object": "schema archive", "drops": "table archive.events", "rows": 3}
    assert dl.message(cascade) == "2.down.sql drops table archive.events (with schema archive) (3 rows)"
    narrow = {**drop, "kind": "type change", "drops": "values of column t.c (text → varchar(3))", "rows": 1,
              "unit": "values longer than 3 characters"}
    assert dl.message(narrow) == "2.down.sql changes values of column t.c (text → varchar(3)) (1 value longer than " \
                                 "3 characters)"
    assert dl.amount({**drop, "rows": None}) == "not there now"
    dynamic = {"file": "2.down.sql", "kind": "cannot tell", "object": "a DO block", "drops": "a DO block",
               "rows": None, "unknown": "dynamic SQL", "dynamic": True}
    assert dl.message(dynamic) == "2.down.sql runs a DO block (cannot tell: dynamic SQL)"
    assert dl.at_risk(drop) and not dl.at_risk({**drop, "rows": 0}) and not dl.at_risk({**drop, "rows": None})
    assert dl.at_risk(dynamic) and not dl.at_risk(dynamic, allow_dynamic=True)
    counted_later = {**dynamic, "kind": "delete", "dynamic": False, "unknown": "it could not be counted now"}
    assert dl.at_risk(counted_later, allow_dynamic=True)
    assert dl.Loss("f", "drop table", "table t", "table t", 0).as_dict() == {
        "file": "f", "kind": "drop table", "object": "table t", "drops": "table t", "rows": 0, "unit": "rows"}
