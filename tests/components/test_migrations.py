"""golang-migrate directory semantics: parsing, up/down plans, missing files."""

from __future__ import annotations

import pytest

from components.providers import migrations as mig
from tests.components.conftest import MIGRATIONS


def test_parse_pairs_up_and_down_by_version():
    parsed = mig.parse([*MIGRATIONS, "README.md", "0004_x.up.sql"])
    assert [(m.version, m.name, m.up, m.down) for m in parsed] == [
        (1, "0001_items", "0001_items.up.sql", "0001_items.down.sql"),
        (2, "0002_tags", "0002_tags.up.sql", "0002_tags.down.sql"),
        (3, "0003_index", "0003_index.up.sql", "0003_index.down.sql"),
        (4, "0004_x", "0004_x.up.sql", None),
    ]


def test_parse_takes_golang_migrate_names_any_width_and_different_up_down_names():
    parsed = mig.parse(["1_a.up.sql", "1_a.down.sql", "9_b.up.sql", "9_b.down.sql", "30_add_x.up.sql",
                        "30_drop_x.down.sql", "20220123205937_ts.up.sql", "0100_padded.up.sql", "x_1.up.sql"])
    assert [(m.version, m.up, m.down) for m in parsed] == [
        (1, "1_a.up.sql", "1_a.down.sql"), (9, "9_b.up.sql", "9_b.down.sql"),
        (30, "30_add_x.up.sql", "30_drop_x.down.sql"), (100, "0100_padded.up.sql", None),
        (20220123205937, "20220123205937_ts.up.sql", None)]
    down = mig.plan(parsed[:3], 30, 1)
    assert [(s.file, s.to) for s in down.steps] == [("30_drop_x.down.sql", 9), ("9_b.down.sql", 1)]
    assert [(s.file, s.to) for s in mig.plan(parsed[:3], 9, 0).steps] == [("9_b.down.sql", 1), ("1_a.down.sql", None)]
    with pytest.raises(mig.MigrationError, match="target schema version 2 has no migration file"):
        mig.plan(parsed, 1, 2)


def test_parse_refuses_two_up_files_for_one_version():
    with pytest.raises(mig.MigrationError, match="two up files"):
        mig.parse(["0001_a.up.sql", "0001_b.up.sql"])
    with pytest.raises(mig.MigrationError, match="two down files"):
        mig.parse(["1_a.down.sql", "01_a.down.sql"])


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
