"""Splitting migration files into execution units with PostgreSQL's own parser."""

from __future__ import annotations

import pytest

from components.providers.sql_units import Unit, UnitError, mode, split


@pytest.mark.parametrize(("sql", "expected", "kind"), [
    ("CREATE TABLE a (x int); INSERT INTO a VALUES (1);",
     [Unit("CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);", True)], "atomic"),
    ("BEGIN;\nCREATE TABLE a (x int);\nCOMMIT;", [Unit("CREATE TABLE a (x int);", True)], "atomic"),
    ("start transaction; select 1; commit work;", [Unit("select 1;", True)], "atomic"),
    ("BEGIN; SELECT 1; END; BEGIN; SELECT 2; COMMIT;", [Unit("SELECT 1;", True), Unit("SELECT 2;", True)],
     "own-transactions"),
    ("SELECT 1; COMMIT; SELECT 2", [Unit("SELECT 1;", True), Unit("SELECT 2;", True)], "own-transactions"),
    ("CREATE TABLE a (x int); CREATE INDEX CONCURRENTLY i ON a (x);",
     [Unit("CREATE TABLE a (x int);", True), Unit("CREATE INDEX CONCURRENTLY i ON a (x)", False)],
     "outside-transaction"),
    ("VACUUM ANALYZE a;", [Unit("VACUUM ANALYZE a", False)], "outside-transaction"),
    ("REINDEX INDEX CONCURRENTLY i;", [Unit("REINDEX INDEX CONCURRENTLY i", False)], "outside-transaction"),
    ("DROP INDEX CONCURRENTLY IF EXISTS i;", [Unit("DROP INDEX CONCURRENTLY IF EXISTS i", False)],
     "outside-transaction"),
    ("ALTER TABLE p DETACH PARTITION c CONCURRENTLY;", [Unit("ALTER TABLE p DETACH PARTITION c CONCURRENTLY", False)],
     "outside-transaction"),
    ("REINDEX INDEX i; ALTER TYPE t ADD VALUE 'x';", [Unit("REINDEX INDEX i;\nALTER TYPE t ADD VALUE 'x';", True)],
     "atomic"),
    ("-- nothing here\n", [Unit("", True)], "atomic"),
])
def test_split(sql: str, expected: list[Unit], kind: str) -> None:
    units = split("f.sql", sql)
    assert units == expected and mode(units) == kind


def test_words_inside_comments_strings_and_bodies_are_not_statements() -> None:
    sql = ("/* COMMIT; BEGIN; */ CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$ BEGIN RAISE NOTICE "
           "'COMMIT;'; RETURN 1; END $fn$; -- COMMIT;\nCOMMENT ON FUNCTION f() IS 'BEGIN; é';")
    (unit,) = split("f.sql", sql)
    assert unit.transactional and "$fn$ BEGIN RAISE NOTICE 'COMMIT;'" in unit.sql and "'BEGIN; é'" in unit.sql


def test_unparsable_sql_is_left_to_the_server() -> None:
    assert split("f.sql", "CREATE TABL x;") == [Unit("CREATE TABL x;", True)]


@pytest.mark.parametrize(("sql", "message"), [
    ("BEGIN; SELECT 1; ROLLBACK;", "top-level ROLLBACK"),
    ("BEGIN; SELECT 1;", "never commits"),
    ("BEGIN; BEGIN; SELECT 1; COMMIT;", "BEGIN inside a transaction block"),
    ("PREPARE TRANSACTION 'x';", "PREPARE TRANSACTION"),
])
def test_refused(sql: str, message: str) -> None:
    with pytest.raises(UnitError, match=message):
        split("f.sql", sql)
