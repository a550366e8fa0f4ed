"""Function bodies (one transaction, sha-checked, removed ones dropped) and trigger states against a database."""

from __future__ import annotations

import psycopg
import pytest

from components.providers.base import StepFailed
from components.providers.dbobjects import DbFunctionsProvider, TriggerStatesProvider, function_definitions
from components.rollout import sha256_text


def fn(name: str, body: str) -> dict:
    sql = f"CREATE OR REPLACE FUNCTION public.{name}() RETURNS int LANGUAGE sql AS $$ SELECT {body} $$;"
    return {"file": f"functions/{name}.sql", "sha256": sha256_text(sql), "sql": sql}


def call(dsn: str, name: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT public.{name}()").fetchone()[0]


def test_functions_replace_and_drop(db):
    p = DbFunctionsProvider()
    outs = p.create({"functions": {"answer": fn("answer", "1"), "extra": fn("extra", "2")}}).outs
    assert call(db, "answer") == 1 and call(db, "extra") == 2
    news = {"functions": {"answer": fn("answer", "42")}}
    assert p.diff("f", outs, news).changes is True
    outs2 = p.update("f", outs, news).outs
    assert call(db, "answer") == 42 and outs2["dropped"] == ["extra"]
    with psycopg.connect(db) as conn:
        assert function_definitions(conn, ["extra", "answer"])["extra"] == []
    assert p.read("f", outs2).outs["missing"] == []


def test_function_sha_mismatch_and_sql_error_change_nothing(db):
    p = DbFunctionsProvider()
    outs = p.create({"functions": {"answer": fn("answer", "1")}}).outs
    tampered = fn("answer", "2")
    tampered["sql"] = tampered["sql"].replace("2", "3")
    with pytest.raises(StepFailed, match=r"functions/answer.sql differs from its recorded sha256"):
        p.update("f", outs, {"functions": {"answer": tampered}})
    broken = {"answer": fn("answer", "5"), "bad": fn("bad", "no_such_column FROM nowhere")}
    with pytest.raises(StepFailed, match=r"function bad \(functions/bad.sql\)"):
        p.update("f", outs, {"functions": broken})
    assert call(db, "answer") == 1  # one transaction: the good replacement rolled back too


def test_trigger_states(db):
    with psycopg.connect(db) as conn:
        conn.execute("CREATE TABLE notes (v int); CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN RETURN NEW; END $$; CREATE TRIGGER notes_touch BEFORE INSERT ON notes "
                     "FOR EACH ROW EXECUTE FUNCTION touch()")
    p = TriggerStatesProvider()
    outs = p.create({"triggers": {"notes_touch": {"table": "notes", "enabled": False}}}).outs
    assert p.read("t", outs).outs["triggers"] == {"notes_touch": {"table": "notes", "enabled": False}}
    outs = p.update("t", outs, {"triggers": {"notes_touch": {"table": "notes", "enabled": True}}}).outs
    assert p.read("t", outs).outs["triggers"]["notes_touch"]["enabled"] is True
    with pytest.raises(StepFailed, match="trigger nope on notes"):
        p.update("t", outs, {"triggers": {"nope": {"table": "notes", "enabled": True}}})
