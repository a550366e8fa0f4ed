"""golang-migrate directory semantics: parsing, up/down plans, missing files, destructive SQL detection."""

from __future__ import annotations

import pytest

from components.providers import migrations as mig
from tests.components.conftest import MIGRATIONS


def test_parse_pairs_up_and_down_by_version():
    parsed = mig.parse([*MIGRATIONS, "README.md", "0004_x.up.sql"])
    assert [(m.version, m.name, m.up, m.down) for m in parsed] == [
        (1, "items", "0001_items.up.sql", "0001_items.down.sql"),
        (2, "tags", "0002_tags.up.sql", "0002_tags.down.sql"),
        (3, "index", "0003_index.up.sql", "0003_index.down.sql"),
        (4, "x", "0004_x.up.sql", None),
    ]


def test_parse_refuses_two_names_for_one_version():
    with pytest.raises(mig.MigrationError, match="two names"):
        mig.parse(["0001_a.up.sql", "0001_b.up.sql"])


def test_plan_up_from_nothing_and_down_to_nothing():
    parsed = mig.parse(list(MIGRATIONS))
    up = mig.plan(parsed, None, 3)
    assert [(s.file, s.to) for s in up.steps] == [("0001_items.up.sql", 1), ("0002_tags.up.sql", 2),
                                                  ("0003_index.up.sql", 3)]
    assert up.describe() == {"from": 0, "to": 3, "direction": "up",
                             "files": ["0001_items.up.sql", "0002_tags.up.sql", "0003_index.up.sql"]}
    down = mig.plan(parsed, 3, 0)
    assert [(s.file, s.to) for s in down.steps] == [("0003_index.down.sql", 2), ("0002_tags.down.sql", 1),
                                                    ("0001_items.down.sql", None)]
    assert mig.plan(parsed, 2, 2).steps == []


def test_plan_refuses_missing_down_and_unknown_versions():
    parsed = mig.parse([f for f in MIGRATIONS if f != "0002_tags.down.sql"])
    assert [s.file for s in mig.plan(parsed, 3, 2).steps] == ["0003_index.down.sql"]
    with pytest.raises(mig.MigrationError, match=r"0002_tags.down.sql is missing"):
        mig.plan(parsed, 3, 1)
    with pytest.raises(mig.MigrationError, match="target schema version 9"):
        mig.plan(parsed, 1, 9)
    with pytest.raises(mig.MigrationError, match="database is at schema version 7"):
        mig.plan(parsed, 7, 1)


@pytest.mark.parametrize(("sql", "expected"), [
    ("DROP TABLE IF EXISTS public.a, b CASCADE;", [("public.a", None), ("b", None)]),
    ("-- DROP TABLE hidden;\nDROP TABLE x;", [("x", None)]),
    ("ALTER TABLE public.t DROP COLUMN IF EXISTS c;", [("public.t", "c")]),
    ("ALTER TABLE t ADD COLUMN z int, DROP y, DROP CONSTRAINT k;", [("t", "y")]),
    ("ALTER TABLE t ALTER COLUMN c DROP DEFAULT;", []),
    ("TRUNCATE TABLE logs;", [("logs", None)]),
    ("DROP INDEX IF EXISTS i; DROP FUNCTION f();", []),
])
def test_destructive_statements(sql, expected):
    assert mig.destructive(sql) == expected
