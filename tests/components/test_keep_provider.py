"""Kept values through SchemaVersionProvider against a real database: a down keeps what it drops (columns by key,
whole tables, an UPDATE's old values) in its own transaction, the up of the same version puts them back by key; rows
written in between keep theirs, rows gone are reported; a keyless table comes back only into an empty table; a
tampered copy is not restored; no value in any output."""

from __future__ import annotations

import json

import psycopg
import pytest

from components.providers import keep
from components.providers.base import StepFailed
from components.providers.schema import SchemaVersionProvider
from tests.components.conftest import checksums

FILES = {
    "0001_base.up.sql": "CREATE TABLE items (id int PRIMARY KEY, note text);\n"
                        "CREATE TABLE loose (label text, n int);",
    "0001_base.down.sql": "DROP TABLE items; DROP TABLE loose;",
    "0002_more.up.sql": "ALTER TABLE items ADD COLUMN secret text, ADD COLUMN tries int NOT NULL DEFAULT 5;\n"
                        "CREATE TABLE digests (id bigserial PRIMARY KEY, item int NOT NULL, body jsonb NOT NULL);\n"
                        "ALTER TABLE loose ADD COLUMN extra text;",
    "0002_more.down.sql": "ALTER TABLE items DROP COLUMN secret;\nALTER TABLE items DROP COLUMN tries;\n"
                          "DROP TABLE digests;\nALTER TABLE loose DROP COLUMN extra;\n"
                          "UPDATE items SET note = 'plain' WHERE note = 'fancy';",
}
VALUES = ("s3cr3t-value-1", "s3cr3t-value-2", "body-value-9")


def props(target: int, **extra) -> dict:
    return {"target_version": target, "sql": FILES, "checksums": checksums(FILES), "allow_data_loss": True,
            "jobs_frozen_by": None, "rollout": "r-test", "from_label": "v2", **extra}


def one(dsn: str, query: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query).fetchall()


def test_down_keeps_up_restores_by_key_new_rows_keep_theirs_gone_rows_reported(db):
    p = SchemaVersionProvider()
    outs = p.create(p.check({}, props(2)).inputs).outs
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO items VALUES (1, 'fancy', %s, 7), (2, 'fancy', %s, 3), (3, 'x', NULL, 5), "
                     "(4, 'y', 'gone-soon', 1)", VALUES[:2])
        conn.execute("INSERT INTO digests (item, body) VALUES (1, %s), (2, '{\"a\": 1}')",
                     (json.dumps({"v": VALUES[2]}),))
        conn.execute("INSERT INTO loose VALUES ('a', 1, 'e1')")

    down = p.update("s", outs, p.check(outs, props(1)).inputs).outs
    kept = {(k["relation"], tuple(k.get("columns") or ())): k for k in down["kept"]}
    assert {(r, c) for r, c in kept} == {("items", ("secret", "tries")), ("digests", ()),
                                         ("loose", ()), ("items", ("note",))}
    assert kept[("items", ("secret", "tries"))]["rows"] == 4 and kept[("digests", ())]["rows"] == 2
    assert kept[("loose", ())]["keyless"] is True and kept[("items", ("note",))]["rows"] == 2
    assert all(k["from_version"] == "v2" and k["schema_version"] == 2 for k in kept.values())
    assert not any(v in json.dumps(down) for v in VALUES)
    assert one(db, "SELECT count(*) FROM rollback_control.kept_sets WHERE rollout = 'r-test'") == [(4,)]

    with psycopg.connect(db) as conn:  # written under version 1: a new row, a changed note, a row gone
        conn.execute("INSERT INTO items VALUES (5, 'new')")
        conn.execute("UPDATE items SET note = 'edited' WHERE id = 2")
        conn.execute("DELETE FROM items WHERE id = 4")

    up = p.update("s", down, p.check(down, props(2)).inputs).outs
    restored = {(r["relation"], tuple(r.get("columns") or ())): r for r in up["restored"]}
    secret = restored[("items", ("secret", "tries"))]
    assert (secret["restored"], secret["gone"], secret["written_since"]) == (3, 1, 1)
    assert restored[("digests", ())]["restored"] == 2
    note = restored[("items", ("note",))]
    assert (note["restored"], note["written_since"]) == (1, 1)  # row 2 was edited since: it keeps 'edited'
    loose = restored[("loose", ())]
    assert loose["state"] == "not restored" and "no primary" in loose["note"]
    assert not any(v in json.dumps(up) for v in VALUES)
    assert one(db, "SELECT id, note, secret, tries FROM items ORDER BY id") == [
        (1, "fancy", VALUES[0], 7), (2, "edited", VALUES[1], 3), (3, "x", None, 5), (5, "new", None, 5)]
    assert one(db, "SELECT item, body->>'v' FROM digests ORDER BY id") == [(1, VALUES[2]), (2, None)]
    assert one(db, "SELECT nextval('digests_id_seq')") == [(3,)]  # past the ids put back
    assert one(db, "SELECT count(*) FROM rollback_control.kept_sets WHERE state = 'kept'") == [(0,)]

    again = p.update("s", up, p.check(up, props(2)).inputs).outs  # nothing left to restore
    assert again.get("restored") in ([], None)


def test_a_tampered_copy_is_not_restored(db):
    p = SchemaVersionProvider()
    outs = p.create(p.check({}, props(2)).inputs).outs
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO items VALUES (1, 'a', 'v', 2)")
    down = p.update("s", outs, p.check(outs, props(1)).inputs).outs
    set_id = next(k["id"] for k in down["kept"] if k.get("columns") == ["secret", "tries"])
    with psycopg.connect(db) as conn:
        conn.execute(f"UPDATE rollback_control.kept_{set_id} SET secret = 'forged'")
    up = p.update("s", down, p.check(down, props(2)).inputs).outs
    [secret] = [r for r in up["restored"] if r.get("columns") == ["secret", "tries"]]
    assert secret["state"] == "not restored" and "checksum" in secret["note"]
    assert one(db, "SELECT secret, tries FROM items") == [(None, 5)]


@pytest.mark.parametrize("cut", ["keep", "restore"])
def test_a_failing_file_rolls_its_kept_values_back_with_it(db, cut):
    """The copy commits with the destructive statement or not at all: a re-run keeps once, restores once."""
    p = SchemaVersionProvider()
    outs = p.create(p.check({}, props(2)).inputs).outs
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO items VALUES (1, 'a', 'v', 2)")
    broken = dict(FILES)
    if cut == "keep":
        broken["0002_more.down.sql"] += "\nSELECT 1/0;"
        bad = {**props(1), "sql": broken, "checksums": checksums(broken)}
        with pytest.raises(StepFailed, match="division by zero"):
            p.update("s", outs, p.check(outs, bad).inputs)
        with psycopg.connect(db) as conn:
            assert keep.listed(conn) == []
        down = p.update("s", outs, p.check(outs, props(1)).inputs).outs
        assert len(down["kept"]) == 1  # the columns of the one row; nothing of the empty tables, no row updated
        return
    down = p.update("s", outs, p.check(outs, props(1)).inputs).outs
    broken["0002_more.up.sql"] += "\nSELECT 1/0;"
    bad = {**props(2), "sql": broken, "checksums": checksums(broken)}
    with pytest.raises(StepFailed, match="division by zero"):
        p.update("s", down, p.check(down, bad).inputs)
    assert one(db, "SELECT count(*) FROM rollback_control.kept_sets WHERE state = 'kept'") == [(1,)]
    up = p.update("s", down, p.check(down, props(2)).inputs).outs
    assert one(db, "SELECT secret, tries FROM items") == [("v", 2)]
    assert [r["state"] for r in up["restored"]] == ["restored"]
    with psycopg.connect(db) as conn:
        assert keep.pending(conn) == []


def test_nothing_to_lose_keeps_nothing(db):
    """A dropped column NULL in every row, an empty dropped table, an UPDATE that matches nothing: no set, as the
    data-loss check counts nothing there either."""
    p = SchemaVersionProvider()
    outs = p.create(p.check({}, props(2)).inputs).outs
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE items SET secret = NULL")  # no row yet: nothing anywhere
        conn.execute("INSERT INTO items (id, note) VALUES (1, 'plain')")
        conn.execute("ALTER TABLE items ALTER COLUMN tries DROP NOT NULL")
        conn.execute("UPDATE items SET tries = NULL")
    down = p.update("s", outs, p.check(outs, props(1)).inputs).outs
    assert down["kept"] == []
    with psycopg.connect(db) as conn:
        assert keep.listed(conn) == []
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'rollback_control' "
                            "AND tablename <> 'kept_sets' AND tablename LIKE 'kept%'").fetchone() == (0,)
