"""The generated way back (components.providers.wayback) against a real PostgreSQL: plan, proof, apply, verify."""

from __future__ import annotations

import hashlib
import json
import uuid

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from components.providers.base import normalize
from components.providers.wayback import apply, catalog, enums, renames, shadow
from components.providers.wayback.model import ACCESS_EXCLUSIVE, DELETES_DATA, WayBack
from components.providers.wayback.plan import way_back
from tests.databases import admin_dsn, create_database, drop_database

BOOKKEEPING = ["public.schema_migrations", "public._prisma_migrations"]


@pytest.fixture(scope="module")
def admin(sandbox):
    """The sandbox server's maintenance database (a superuser), with PG_BINDIR set for pg_dump/psql."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PG_BINDIR", sandbox.env()["PG_BINDIR"])
        yield admin_dsn(sandbox)


@pytest.fixture
def make_db(sandbox, admin):
    """make_db(sql) -> dsn of a new database holding that schema; every one dropped after the test."""
    made: list[str] = []

    def make(sql: str = "") -> str:
        dsn = create_database(sandbox, "wb")
        made.append(dsn)
        run(dsn, sql)
        return dsn

    yield make
    for dsn in made:
        drop_database(sandbox, dsn)


def run(dsn: str, *sqls: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql in sqls:
            if sql:
                conn.execute(sql)


def rows(dsn: str, query: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query).fetchall()


def snap(dsn: str) -> dict:
    with psycopg.connect(dsn) as conn:
        return catalog.snapshot(conn, [], BOOKKEEPING)


def applied(dsn: str, wb: WayBack) -> list[str]:
    """Run the way back on dsn and return verify's differences."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        apply.run(conn, wb, expect_live_digest=wb.live_digest)
        return apply.verify(conn, wb.target, exclude_schemas=wb.exclude_schemas, exclude_tables=wb.exclude_tables)


def databases(admin: str, like: str) -> list[str]:
    return [r[0] for r in rows(admin, f"SELECT datname FROM pg_database WHERE datname LIKE '{like}' ORDER BY 1")]


ITEMS = "CREATE TABLE items (id int PRIMARY KEY, title text NOT NULL);"


def test_added_column_dropped_with_deletes_data_and_bookkeeping_untouched(make_db, admin):
    # an unchanged domain column too: pg-schema-diff's own plan validation cannot load domains (it is off)
    common = ITEMS + "CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%'); ALTER TABLE items ADD COLUMN e email;"
    target = make_db(common + "CREATE TABLE schema_migrations (version bigint PRIMARY KEY);"
                     "CREATE TABLE _prisma_migrations (id serial PRIMARY KEY, name text);")
    live = make_db(common + "ALTER TABLE items ADD COLUMN extra int; CREATE TABLE schema_migrations (version bigint "
                   "PRIMARY KEY, dirty boolean NOT NULL); CREATE TABLE _prisma_migrations (id serial PRIMARY KEY);"
                   "INSERT INTO items VALUES (1, 'a', 'a@b', 7); INSERT INTO schema_migrations VALUES (3, false);")
    before = snap(live)

    wb = way_back(live, target, admin, exclude_tables=BOOKKEEPING)

    assert wb.refused is None, wb.refused
    assert snap(live) == before  # planning only reads live
    assert [s.sql for s in wb.statements] == ['ALTER TABLE "public"."items" DROP COLUMN "extra"']
    assert [h.kind for h in wb.statements[0].hazards] == [DELETES_DATA]
    assert not any("migrations" in s.sql for s in wb.statements)
    assert any("on bookkeeping tables left out" in n for n in wb.notes)  # the target's own bookkeeping tables
    assert databases(admin, "rollback_wayback%") == []  # the scratch copy is gone
    assert applied(live, wb) == []
    assert rows(live, "SELECT * FROM items") == [(1, "a", "a@b")]
    assert rows(live, "SELECT * FROM schema_migrations") == [(3, False)]  # bookkeeping kept as it was
    assert rows(live, "SELECT to_regclass('public._prisma_migrations') IS NOT NULL") == [(True,)]


def test_verify_names_each_difference(make_db, admin):
    target = make_db(ITEMS)
    live = make_db(ITEMS + "ALTER TABLE items ADD COLUMN extra int; CREATE INDEX items_title ON items (title);")
    with psycopg.connect(live) as conn:
        found = apply.verify(conn, snap(target))
    assert found == ["column public.items.extra: only in live", "index public.items_title: only in live"]
    wb = way_back(live, target, admin)
    with psycopg.connect(live) as conn, pytest.raises(apply.ApplyError) as err:
        apply.verified(conn, wb)
    assert err.value.differences == found


UPS_TO_N = ["CREATE TABLE items (id int PRIMARY KEY, title text NOT NULL); "
            "CREATE VIEW item_titles AS SELECT id, title FROM items;"]
UPS_SINCE = ["ALTER TABLE items RENAME COLUMN title TO name;",
             "ALTER TABLE items RENAME TO products; ALTER TABLE products ADD COLUMN price int;"]


def replay(texts: list[str]):
    def build(conn: psycopg.Connection) -> None:
        for text in texts:
            conn.execute(text)
    return build


def key_of(texts: list[str]) -> str:
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()


def test_renames_come_back_as_renames_with_values_and_view_kept(make_db, admin):
    live = make_db("\n".join(UPS_TO_N + UPS_SINCE) + "INSERT INTO products VALUES (1, 'a', 10), (2, 'b', 20);")
    key = key_of(UPS_TO_N + [uuid.uuid4().hex])
    target = shadow.ensure(admin, key, replay(UPS_TO_N))
    try:
        undo = renames.reverse(renames.extract(UPS_SINCE))
        assert undo == ['ALTER TABLE "products" RENAME TO "items"',
                        'ALTER TABLE "items" RENAME COLUMN "name" TO "title"']

        wb = way_back(live, target, admin, renames=undo)

        assert wb.refused is None, wb.refused
        assert [s.sql for s in wb.statements[:2]] == undo
        assert all(h.kind != DELETES_DATA for s in wb.statements[:2] for h in s.hazards)
        assert wb.hazards(DELETES_DATA) and all("price" in s.sql for s in wb.statements[2:])
        assert applied(live, wb) == []
        assert rows(live, "SELECT id, title FROM items ORDER BY id") == [(1, "a"), (2, "b")]
        assert rows(live, "SELECT * FROM item_titles ORDER BY id") == [(1, "a"), (2, "b")]
    finally:
        shadow.drop(admin, shadow.PREFIX + key[:20])


def test_extract_tracks_names_in_order_and_skips_dropped_objects():
    ups = ["ALTER TABLE items RENAME COLUMN title TO name; ALTER TABLE items RENAME TO products;",
           "ALTER TABLE products RENAME COLUMN note TO body; ALTER TYPE mood RENAME VALUE 'ok' TO 'fine';",
           "ALTER TABLE tmp RENAME TO tmp2; DROP TABLE public.tmp2;",
           "ALTER TABLE x RENAME COLUMN a TO b; ALTER TABLE x DROP COLUMN b; ALTER VIEW v RENAME COLUMN c TO d;"]
    assert renames.reverse(renames.extract(ups)) == [
        'ALTER VIEW "v" RENAME COLUMN "d" TO "c"',
        "ALTER TYPE \"mood\" RENAME VALUE 'fine' TO 'ok'",
        'ALTER TABLE "products" RENAME COLUMN "body" TO "note"',
        'ALTER TABLE "products" RENAME TO "items"',
        'ALTER TABLE "items" RENAME COLUMN "name" TO "title"']
    undo = renames.reverse(renames.extract(ups))
    assert renames.live_name(undo, ("public", "items", "title"), "column") == ("public", "products", "name")
    assert renames.live_name(undo, ("public", "items", "note"), "column") == ("public", "products", "body")
    assert renames.live_name(undo, ("public", "mood", "ok"), "value") == ("public", "mood", "fine")


MOODS = ("CREATE TYPE mood AS ENUM ('ok', 'meh'); "
         "CREATE TABLE t (id int PRIMARY KEY, m mood NOT NULL DEFAULT 'ok', ms mood[]);")


def enum_live(make_db, *extra: str) -> str:
    live = make_db(MOODS)
    run(live, "ALTER TYPE mood ADD VALUE 'great'", *extra)
    return live


def test_enum_value_added_since_n_is_removed_by_recreating_the_type(make_db, admin):
    target = make_db(MOODS)
    live = enum_live(make_db, "INSERT INTO t VALUES (1, 'ok', '{ok,meh}'), (2, 'meh', NULL)")

    wb = way_back(live, target, admin)

    assert wb.refused is None, wb.refused
    assert len(wb.statements) == 1 and "CREATE TYPE \"public\".\"mood\" AS ENUM ('ok', 'meh')" in wb.statements[0].sql
    assert wb.hazards(DELETES_DATA) == []
    assert any("no row holds them" in n for n in wb.notes)
    assert applied(live, wb) == []
    assert rows(live, "SELECT enum_range(NULL::mood)::text") == [("{ok,meh}",)]
    assert rows(live, "SELECT id, m::text, ms::text FROM t ORDER BY id") == [(1, "ok", "{ok,meh}"), (2, "meh", None)]


def test_enum_rows_holding_a_removed_value_are_counted(make_db, admin):
    target = make_db(MOODS)
    live = enum_live(make_db, "INSERT INTO t VALUES (1, 'ok', '{ok,great}'), (2, 'meh', '{great}')")
    with psycopg.connect(live) as conn:
        assert enums.rows_using(conn, "public.mood", ["great"]) == [("public.t.ms", 2)]

    wb = way_back(live, target, admin)

    assert wb.refused is None, wb.refused
    assert wb.hazards(DELETES_DATA) == ["2 row(s) of public.t.ms hold removed value(s) 'great' of enum public.mood: "
                                        "those elements are removed"]
    assert applied(live, wb) == []
    assert rows(live, "SELECT id, ms::text FROM t ORDER BY id") == [(1, "{ok}"), (2, "{}")]


def test_enum_column_added_since_n_is_dropped_and_excluded_ones_converted(make_db, admin):
    audit = "CREATE SCHEMA audit; CREATE TABLE audit.log (m mood DEFAULT 'meh');"
    target = make_db(MOODS + audit)
    live = enum_live(make_db, audit, "ALTER TABLE t ADD COLUMN extra mood",
                     "INSERT INTO t VALUES (1, 'ok', NULL, 'great'); INSERT INTO audit.log VALUES ('ok')")

    wb = way_back(live, target, admin, exclude_schemas=["audit"])

    assert wb.refused is None, wb.refused
    assert 'ALTER TABLE "public"."t" DROP COLUMN "extra"' in wb.statements[0].sql
    assert wb.hazards(DELETES_DATA) == ["drops column public.t.extra (not in the target; it uses enum public.mood)"]
    assert applied(live, wb) == []
    assert rows(live, "SELECT m::text FROM audit.log") == [("ok",)]
    assert rows(live, "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'audit.log'::regclass") \
        == [("'meh'::mood",)]


def test_enum_removed_value_in_not_null_column_or_used_by_a_function_is_refused(make_db, admin):
    target = make_db(MOODS)
    live = enum_live(make_db, "INSERT INTO t VALUES (1, 'great', NULL)")
    wb = way_back(live, target, admin)
    assert wb.refused == ("enum public.mood cannot drop value(s) 'great': NOT NULL column(s) public.t.m (1 rows) "
                          "hold them")

    function = "CREATE FUNCTION cheer(m mood) RETURNS text LANGUAGE sql AS 'SELECT m::text'"
    target, live = make_db(MOODS + function), enum_live(make_db, function)
    wb = way_back(live, target, admin)
    assert wb.refused == ("enum public.mood cannot drop value(s) 'great' by recreating the type: "
                          "function cheer(mood) use it (drop or change it first)")


VIEWS = ("CREATE VIEW happy WITH (security_barrier) AS SELECT id, m FROM t WHERE m = 'ok';"
         "CREATE VIEW happy_ids AS SELECT id FROM happy; COMMENT ON VIEW happy IS 'the happy ones';"
         "GRANT SELECT ON happy TO pg_monitor; CREATE MATERIALIZED VIEW counts AS SELECT m, count(*) FROM t GROUP BY m;"
         "CREATE UNIQUE INDEX counts_m ON counts (m);")


def test_enum_recreation_recreates_the_views_in_its_way(make_db, admin):
    target = make_db(MOODS + VIEWS)
    live = enum_live(make_db, VIEWS, "INSERT INTO t VALUES (1, 'ok', NULL), (2, 'meh', NULL)",
                     "REFRESH MATERIALIZED VIEW counts")

    wb = way_back(live, target, admin)

    assert wb.refused is None, wb.refused
    assert sorted(h.message for h in wb.statements[0].hazards if "view" in h.message) == [
        "drops and recreates materialized view public.counts (recomputing it)",
        "drops and recreates view public.happy", "drops and recreates view public.happy_ids"]
    assert all(h.kind == ACCESS_EXCLUSIVE for h in wb.statements[0].hazards)
    assert applied(live, wb) == []
    assert rows(live, "SELECT * FROM happy_ids") == [(1,)]
    assert rows(live, "SELECT m::text, count FROM counts ORDER BY 1") == [("meh", 1), ("ok", 1)]


def test_domain_or_composite_change_is_refused_naming_the_object(make_db, admin):
    target = make_db("CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%'); CREATE TABLE u (e email);")
    live = make_db("CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%.%'); CREATE TABLE u (e email);"
                   "CREATE TYPE pair AS (a int, b text);")

    wb = way_back(live, target, admin)

    assert wb.refused == ("the generated way back does not reach the target: domain public.email: differs "
                          "(constraints); composite type public.pair: only in the result")
    assert wb.statements == [] and databases(admin, "rollback_wayback%") == []
    with psycopg.connect(live, autocommit=True) as conn, pytest.raises(apply.ApplyError, match="no way back"):
        apply.run(conn, wb, expect_live_digest=wb.live_digest)


def test_grants_are_compared_table_grants_undone_others_refused(make_db, admin):
    target = make_db(ITEMS + "CREATE SEQUENCE counter;")
    live = make_db(ITEMS + "CREATE SEQUENCE counter; GRANT SELECT, UPDATE ON items TO pg_monitor;")
    wb = way_back(live, target, admin)
    assert wb.refused is None, wb.refused
    assert [s.sql for s in wb.statements] == ['REVOKE SELECT ON "public"."items" FROM "pg_monitor"',
                                              'REVOKE UPDATE ON "public"."items" FROM "pg_monitor"']
    assert applied(live, wb) == []

    run(live, "GRANT USAGE ON SEQUENCE counter TO pg_monitor")
    wb = way_back(live, target, admin)
    assert wb.refused == ("the generated way back does not reach the target: sequence public.counter: differs "
                          "(acl)")


CASE_INDEX = ("CREATE INDEX items_case ON items ((CASE\n  WHEN title = 'x' THEN 1\n  WHEN title = 'y' THEN 2\n"
              "  ELSE 3 END));")


def test_multiline_case_index_to_create_works_concurrently(make_db, admin):
    target = make_db(ITEMS + CASE_INDEX + "CREATE INDEX items_title ON items (title);")
    live = make_db(ITEMS + "INSERT INTO items VALUES (1, 'x');")

    wb = way_back(live, target, admin)

    assert wb.refused is None, wb.refused
    assert any("index items_case on public.items" in n for n in wb.notes)
    builds = [s for s in wb.statements if s.sql.startswith("CREATE INDEX")]
    assert len(builds) == 2 and all(s.sql.startswith("CREATE INDEX CONCURRENTLY") for s in builds)
    assert all(not s.transactional and [h.kind for h in s.hazards] == ["INDEX_BUILD"] for s in builds)
    assert applied(live, wb) == []


def test_multiline_case_index_to_drop_works(make_db, admin):
    target = make_db(ITEMS)
    live = make_db(ITEMS + CASE_INDEX)
    wb = way_back(live, target, admin)
    assert wb.refused is None, wb.refused
    assert [s.sql for s in wb.statements] == ['DROP INDEX CONCURRENTLY "public"."items_case"']
    assert applied(live, wb) == []


def test_live_schema_changed_since_the_plan_is_refused_before_anything_changes(make_db, admin):
    target = make_db(ITEMS)
    live = make_db(ITEMS + "ALTER TABLE items ADD COLUMN extra int;")
    wb = way_back(live, target, admin)
    assert wb.refused is None and wb.statements
    run(live, "ALTER TABLE items ADD COLUMN sneaky int")
    before = snap(live)

    with psycopg.connect(live, autocommit=True) as conn, pytest.raises(apply.ApplyError) as err:
        apply.run(conn, wb, expect_live_digest=wb.live_digest)

    assert str(err.value) == ("the live schema changed since the plan; plan again: column public.items.sneaky: "
                              "only in live now")
    assert snap(live) == before


def test_wayback_survives_the_pulumi_wire_format(make_db, admin):
    target = make_db(ITEMS + "CREATE SEQUENCE big MAXVALUE 9223372036854775807;")
    live = make_db(ITEMS + "ALTER TABLE items ADD COLUMN extra int;")
    wb = way_back(live, target, admin)

    def as_doubles(value):
        if isinstance(value, bool) or not isinstance(value, int | dict | list):
            return value
        if isinstance(value, int):
            return float(value)
        if isinstance(value, dict):
            return {k: as_doubles(v) for k, v in value.items()}
        return [as_doubles(v) for v in value]

    back = WayBack.from_json(normalize(as_doubles(json.loads(json.dumps(wb.to_json())))))
    assert back == wb and catalog.digest(back.target) == wb.target_digest
    assert applied(live, back) == []


def test_shadow_is_cached_and_never_left_half_built(admin):
    key = uuid.uuid4().hex
    calls: list[str] = []

    def build(conn: psycopg.Connection) -> None:
        calls.append(conn.info.dbname)
        conn.execute("CREATE TABLE built (id int)")

    first = shadow.ensure(admin, key, build)
    try:
        assert shadow.ensure(admin, key, build) == first
        assert len(calls) == 1 and "_building_" in calls[0]
        assert conninfo_to_dict(first)["dbname"] == shadow.PREFIX + key[:20]
        assert rows(first, "SELECT count(*) FROM built") == [(0,)]
    finally:
        shadow.drop(admin, shadow.PREFIX + key[:20])

    for failure in (RuntimeError("replay failed"), KeyboardInterrupt()):
        other = uuid.uuid4().hex

        def broken(conn: psycopg.Connection, failure: BaseException = failure) -> None:
            conn.execute("CREATE TABLE half (id int)")
            raise failure

        with pytest.raises(type(failure)):
            shadow.ensure(admin, other, broken)
        assert databases(admin, shadow.PREFIX + other[:20] + "%") == []


def test_copy_platform_brings_platform_schemas_and_extensions(make_db, admin):
    live = make_db("CREATE SCHEMA auth; CREATE TABLE auth.users (id uuid PRIMARY KEY); CREATE SCHEMA extensions; "
                   "CREATE EXTENSION pgcrypto WITH SCHEMA extensions; CREATE EXTENSION citext; "
                   "CREATE TABLE profiles (id uuid PRIMARY KEY REFERENCES auth.users, "
                   "name citext DEFAULT extensions.gen_random_uuid()::text);")
    up = ("CREATE TABLE profiles (id uuid PRIMARY KEY REFERENCES auth.users, "
          "name citext DEFAULT extensions.gen_random_uuid()::text);")
    key = uuid.uuid4().hex

    def build(conn: psycopg.Connection) -> None:
        shadow.copy_platform(live, conn, ["auth", "extensions"])
        conn.execute(up)

    target = shadow.ensure(admin, key, build)
    try:
        assert snap(target) == snap(live)
        wb = way_back(live, target, admin, exclude_schemas=["auth", "extensions"])
        assert wb.refused is None and wb.statements == [] and wb.notes == ["the live schema is already the target's"]
    finally:
        shadow.drop(admin, shadow.PREFIX + key[:20])


def test_owner_without_superuser_but_with_createdb(sandbox, admin):
    role, password = f"wb_owner_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    live_db = f"wb_live_{uuid.uuid4().hex[:8]}"
    key = uuid.uuid4().hex
    run(admin, f"CREATE ROLE {role} LOGIN CREATEDB PASSWORD '{password}'", f"CREATE DATABASE {live_db} OWNER {role}")
    as_role = make_conninfo(admin, user=role, password=password, options="-c lock_timeout=3000",
                            application_name="rollback-as-code wayback")  # as locks.Guard.conninfo() makes them
    live = shadow.with_database(as_role, live_db)
    try:
        run(live, "\n".join(UPS_TO_N + UPS_SINCE), MOODS, "ALTER TYPE mood ADD VALUE 'great'",
            "INSERT INTO products VALUES (1, 'a', 10); INSERT INTO t VALUES (1, 'ok', '{meh}');"
            "CREATE EXTENSION citext; GRANT SELECT ON item_titles TO pg_monitor;")
        target = shadow.ensure(as_role, key, replay(UPS_TO_N + [MOODS, "CREATE EXTENSION citext;",
                                                                "GRANT SELECT ON item_titles TO pg_monitor;"]))
        assert rows(target, "SELECT d.datdba::regrole::text FROM pg_database d WHERE d.datname = "
                            "current_database()") == [(role,)]

        wb = way_back(live, target, as_role, renames=renames.reverse(renames.extract(UPS_SINCE)))

        assert wb.refused is None, wb.refused
        assert applied(live, wb) == []
        assert rows(live, "SELECT id, title FROM item_titles") == [(1, "a")]

        run(admin, f"ALTER ROLE {role} NOCREATEDB")
        with pytest.raises(shadow.ShadowError) as err:
            shadow.ensure(as_role, uuid.uuid4().hex, replay([]))
        assert f"role {role} cannot create scratch databases" in str(err.value)
        assert "CREATEDB" in str(err.value) and "SHADOW_DATABASE_URL" in str(err.value)
        assert "\n" not in str(err.value)
    finally:
        shadow.drop(admin, shadow.PREFIX + key[:20])
        shadow.drop(admin, live_db)
        run(admin, f"DROP ROLE IF EXISTS {role}")
