"""The schema step's generated way back against a real database: previewed in check, run only on the schema it
was planned from, refused when it cannot be exact or would lose rows, and the tool's own table kept truthful."""

from __future__ import annotations

import psycopg
import pytest

from components.providers.base import StepFailed
from components.providers.schema import SchemaVersionProvider
from tests.components.conftest import checksums

HISTORY = {  # a Supabase CLI history: no down files
    "20240101000000_items.sql": "CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL DEFAULT '');",
    "20240102000000_rename_and_tag.sql": "ALTER TABLE items RENAME COLUMN note TO body;\n"
                                         "ALTER TABLE items ADD COLUMN tag text;",
    "20240103000000_contact.sql": "CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');\n"
                                  "ALTER TABLE items ADD COLUMN contact email;",
}
ONE, TWO, THREE = 20240101000000, 20240102000000, 20240103000000


def props(target: int, **extra: object) -> dict[str, object]:
    return {"target_version": target, "sql": HISTORY, "checksums": checksums(HISTORY), "format": "supabase",
            "allow_data_loss": False, "jobs_frozen_by": None, **extra}


def query(dsn: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def applied(dsn: str) -> list[str]:
    return [str(r[0]) for r in query(dsn, "SELECT version FROM supabase_migrations.schema_migrations ORDER BY 1")]


def columns(dsn: str) -> list[str]:
    return [str(r[0]) for r in query(dsn, "SELECT column_name FROM information_schema.columns WHERE table_name = "
                                          "'items' ORDER BY column_name")]


@pytest.fixture
def at_two(db: str) -> tuple[SchemaVersionProvider, dict[str, object]]:
    """The database at the second migration, with rows; the provider and its outputs."""
    p = SchemaVersionProvider()
    outs = p.create(p.check({}, props(TWO)).inputs).outs
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO items (id, body, tag) VALUES (1, 'kept', 'gone'), (2, 'also kept', NULL)")
    return p, outs


def test_the_way_back_is_previewed_then_run_exactly(db: str, at_two) -> None:
    p, outs = at_two
    checked = p.check(outs, props(ONE, allow_data_loss=True)).inputs
    plan = checked["plan"]
    assert plan["files"] == ["(generated way back)"] and plan["names"] == {
        "from": "20240102000000_rename_and_tag", "to": "20240101000000_items"}
    sql = [s["sql"] for s in plan["generated"]["statements"]]
    assert any("RENAME COLUMN" in s and '"body"' in s for s in sql), sql
    assert plan["destructive"] == [{"file": "(generated way back)", "kind": "drop column", "object": "column items.tag",
                                    "drops": "column items.tag", "rows": 1, "unit": "rows"}]
    done = p.update("schema", outs, checked).outs
    assert done["version"] == ONE and done["plan"]["generated"]["verified"] is True
    assert columns(db) == ["id", "note"]
    assert query(db, "SELECT id, note FROM items ORDER BY id") == [(1, "kept"), (2, "also kept")]  # renamed back
    assert applied(db) == [str(ONE)]
    again = p.check(done, props(ONE)).inputs  # at the target: nothing to generate
    assert again["plan"]["files"] == [] and p.diff("schema", done, again).changes is False


def test_a_live_schema_changed_since_the_plan_is_refused_before_anything_changes(db: str, at_two) -> None:
    p, outs = at_two
    checked = p.check(outs, props(ONE, allow_data_loss=True)).inputs
    with psycopg.connect(db) as conn:
        conn.execute("CREATE INDEX items_tag_idx ON items (tag)")  # someone's hotfix between preview and apply
    with pytest.raises(StepFailed, match="the live schema changed since the plan.*items_tag_idx"):
        p.update("schema", outs, checked)
    assert columns(db) == ["body", "id", "tag"] and applied(db) == [str(ONE), str(TWO)]


def test_rows_a_drop_would_lose_are_refused_without_allow_data_loss(db: str, at_two) -> None:
    p, outs = at_two
    checked = p.check(outs, props(ONE)).inputs
    assert checked["plan"]["data_loss"] == ["(generated way back) drops column items.tag (1 rows)"]
    with pytest.raises(StepFailed, match=r"data-loss pre-check refused the migration: .*items.tag \(1 rows\)"):
        p.update("schema", outs, checked)
    assert columns(db) == ["body", "id", "tag"] and applied(db) == [str(ONE), str(TWO)]


def test_a_way_back_the_engine_cannot_express_is_refused_naming_the_object(db: str, at_two) -> None:
    p, outs = at_two
    outs = p.update("schema", outs, p.check(outs, props(THREE)).inputs).outs
    checked = p.check(outs, props(TWO, allow_data_loss=True)).inputs
    refused = checked["plan"]["refused"]
    assert "domain public.email" in refused, refused
    with pytest.raises(StepFailed, match="domain public.email"):
        p.update("schema", outs, checked)
    assert "contact" in columns(db) and applied(db) == [str(ONE), str(TWO), str(THREE)]


def test_the_tools_table_is_read_as_the_tool_reads_it(db: str) -> None:
    p = SchemaVersionProvider()
    with psycopg.connect(db) as conn:  # the team ran `supabase migration up` to the second file before adopting us
        conn.execute("CREATE SCHEMA supabase_migrations; CREATE TABLE supabase_migrations.schema_migrations "
                     "(version text PRIMARY KEY, statements text[], name text)")
        for name, sql in list(HISTORY.items())[:2]:
            conn.execute(sql)
            conn.execute("INSERT INTO supabase_migrations.schema_migrations VALUES (%s, NULL, %s)",
                         tuple(name.removesuffix(".sql").split("_", 1)))
    checked = p.check({}, props(THREE)).inputs
    assert checked["plan"]["from"] == TWO and checked["plan"]["files"] == ["20240103000000_contact.sql"]
    with psycopg.connect(db) as conn:  # a row for a file the directory does not have: refused, named
        conn.execute("INSERT INTO supabase_migrations.schema_migrations VALUES ('20991231000000', NULL, 'x')")
    refused = p.check({}, props(THREE)).inputs["plan"]["refused"]
    assert "20991231000000" in refused and "does not have" in refused


PLATFORM = "CREATE SCHEMA auth; CREATE TABLE auth.users (id uuid PRIMARY KEY, email text);"
ON_PLATFORM = {
    "20240101000000_profiles.sql": "CREATE TABLE profiles (id uuid PRIMARY KEY REFERENCES auth.users (id));",
    "20240102000000_nick.sql": "ALTER TABLE profiles ADD COLUMN nick text;",
}


@pytest.mark.parametrize("preamble", [None, PLATFORM], ids=["platform-from-live", "preamble"])
def test_the_shadow_gets_what_the_history_assumes(db: str, preamble: str | None) -> None:
    with psycopg.connect(db) as conn:  # the platform as it exists live, with more in it than the history needs
        conn.execute(PLATFORM + "ALTER TABLE auth.users ADD COLUMN last_sign_in timestamptz;")
    p = SchemaVersionProvider()
    base = {"sql": ON_PLATFORM, "checksums": checksums(ON_PLATFORM), "format": "supabase", "allow_data_loss": True,
            "jobs_frozen_by": None, "preamble": preamble}
    outs = p.create(p.check({}, {**base, "target_version": 20240102000000}).inputs).outs
    checked = p.check(outs, {**base, "target_version": 20240101000000}).inputs
    statements = [s["sql"] for s in checked["plan"]["generated"]["statements"]]
    assert len(statements) == 1 and "DROP COLUMN" in statements[0] and "nick" in statements[0]  # auth left alone
    p.update("schema", outs, checked)
    assert "last_sign_in" in [c for (c,) in query(db, "SELECT column_name FROM information_schema.columns "
                                                      "WHERE table_schema = 'auth'")]


def test_a_way_back_that_stopped_midway_is_planned_again_from_where_it_stopped(db: str, at_two) -> None:
    p, outs = at_two
    with psycopg.connect(db) as conn:  # its first statement (the rename) committed, then the run was cut
        conn.execute("ALTER TABLE items RENAME COLUMN body TO note")
    checked = p.check(outs, props(ONE, allow_data_loss=True)).inputs
    assert not checked["plan"].get("refused"), checked["plan"]
    sql = [s["sql"] for s in checked["plan"]["generated"]["statements"]]
    assert not any("RENAME" in s for s in sql) and any("DROP COLUMN" in s for s in sql), sql
    p.update("schema", outs, checked)
    assert columns(db) == ["id", "note"] and applied(db) == [str(ONE)]
    assert query(db, "SELECT id, note FROM items ORDER BY id") == [(1, "kept"), (2, "also kept")]


def test_a_second_plan_from_the_same_live_schema_reads_the_proven_way_back(db: str, at_two, monkeypatch) -> None:
    p, outs = at_two
    first = p.check(outs, props(ONE, allow_data_loss=True)).inputs["plan"]["generated"]
    from components.providers import way_back

    def no_replay(*_args: object, **_kw: object) -> None:
        raise AssertionError("the shadow was built again")

    monkeypatch.setattr(way_back, "replay", no_replay)
    monkeypatch.setattr(way_back.wb_plan, "way_back", no_replay)  # nor copied, diffed and proven again
    second = p.check(outs, props(ONE, allow_data_loss=True)).inputs["plan"]["generated"]
    assert second == first
    with psycopg.connect(db) as conn:  # a live schema that changed is planned afresh
        conn.execute("CREATE INDEX items_tag_idx ON items (tag)")
    changed = p.check(outs, props(ONE, allow_data_loss=True)).inputs["plan"]
    assert "shadow was built again" in str(changed)


def test_a_role_that_may_not_create_databases_plans_on_the_shadow_server(sandbox, db: str, monkeypatch) -> None:
    from tests.databases import admin_dsn
    from tests.uponly.support import with_user

    role = f"nocreate_{db.rsplit('_', 1)[1]}"
    with psycopg.connect(admin_dsn(sandbox), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw' NOCREATEDB")
        conn.execute(f"ALTER DATABASE {db.rsplit('/', 1)[1]} OWNER TO {role}")
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(f"ALTER SCHEMA public OWNER TO {role}")
    monkeypatch.setenv("DATABASE_URL", with_user(db, role, "pw"))
    p = SchemaVersionProvider()
    outs = p.create(p.check({}, props(TWO)).inputs).outs
    refused = p.check(outs, props(ONE, allow_data_loss=True)).inputs["plan"]["refused"]
    assert f"role {role} cannot create scratch databases" in refused and "SHADOW_DATABASE_URL" in refused
    monkeypatch.setenv("SHADOW_DATABASE_URL", admin_dsn(sandbox))  # a server where scratch databases may be made
    checked = p.check(outs, props(ONE, allow_data_loss=True)).inputs
    assert not checked["plan"].get("refused"), checked["plan"]
    p.update("schema", outs, checked)
    assert columns(db) == ["id", "note"] and applied(db) == [str(ONE)]
