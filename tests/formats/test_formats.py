"""Each migration format reads its tool's layout, orders and names migrations as the tool does, and keeps its
bookkeeping the way the tool writes it (the SQL only; tests/formats/test_bookkeeping_pg.py runs it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollback_stacks import formats
from rollback_stacks.formats.base import sha256_hex


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _journal(*entries: tuple[str, int]) -> str:
    return json.dumps({"version": "7", "dialect": "postgresql", "entries": [
        {"idx": i, "version": "7", "when": when, "tag": tag, "breakpoints": True}
        for i, (tag, when) in enumerate(entries)]})


def drizzle_dir(tmp_path: Path) -> Path:
    return _write(tmp_path / "drizzle", {
        "meta/_journal.json": _journal(("0000_calm_otter", 1700000000000), ("0001_brave_fox", 1700000100000)),
        "0000_calm_otter.sql": 'CREATE TABLE "a" (id int);\n--> statement-breakpoint\nCREATE INDEX "a_i" ON "a" (id);',
        "0001_brave_fox.sql": 'ALTER TABLE "a" ADD COLUMN "b" text;',
        "0001_manual_fix.sql": "SELECT 1;",
    })


def test_detect_each_layout(tmp_path: Path) -> None:
    assert formats.detect(drizzle_dir(tmp_path)).name == "drizzle"
    prisma = _write(tmp_path / "prisma", {"migration_lock.toml": 'provider = "postgresql"\n',
                                         "20240101000000_init/migration.sql": "CREATE TABLE x (id int);"})
    assert formats.detect(prisma).name == "prisma"
    supa = _write(tmp_path / "supa", {"20240101000000_init.sql": "CREATE TABLE x (id int);"})
    assert formats.detect(supa).name == "supabase"
    gm = _write(tmp_path / "gm", {"1_init.up.sql": "CREATE TABLE x (id int);", "1_init.down.sql": "DROP TABLE x;"})
    assert formats.detect(gm).name == "golang-migrate"
    with pytest.raises(formats.FormatError, match="no migrations of a known format"):
        formats.detect(_write(tmp_path / "none", {"README.md": "hi"}))


def test_drizzle_journal_is_authoritative(tmp_path: Path) -> None:
    texts, listing = formats.read(formats.get("drizzle"), drizzle_dir(tmp_path))
    assert [(m.version, m.name, m.up, m.when) for m in listing.migrations] == [
        (1, "0000_calm_otter", "0000_calm_otter.sql", 1700000000000),
        (2, "0001_brave_fox", "0001_brave_fox.sql", 1700000100000)]
    assert listing.notes == ["ignored 0001_manual_fix.sql: not in meta/_journal.json (drizzle's migrator does not "
                             "run it)"]
    assert formats.get("drizzle").pieces(texts["0000_calm_otter.sql"]) == ['CREATE TABLE "a" (id int);',
                                                                           'CREATE INDEX "a_i" ON "a" (id);']


def test_drizzle_bad_journals_name_the_fix(tmp_path: Path) -> None:
    fmt = formats.get("drizzle")
    with pytest.raises(formats.FormatError, match="lists 0001_b but 0001_b.sql is missing"):
        fmt.listing({"meta/_journal.json": _journal(("0001_b", 5))})
    with pytest.raises(formats.FormatError, match="not after 0000_a's 9: drizzle's migrator would skip it"):
        fmt.listing({"meta/_journal.json": _journal(("0000_a", 9), ("0001_b", 5)), "0000_a.sql": "", "0001_b.sql": ""})
    with pytest.raises(formats.FormatError, match="0001_a and 0001_b share a number"):
        fmt.listing({"meta/_journal.json": _journal(("0001_a", 1), ("0001_b", 2)), "0001_a.sql": "", "0001_b.sql": ""})
    with pytest.raises(formats.FormatError, match="not JSON"):
        fmt.listing({"meta/_journal.json": "{"})
    with pytest.raises(formats.FormatError, match="dialect 'mysql'"):
        fmt.listing({"meta/_journal.json": json.dumps({"dialect": "mysql", "entries": []})})


def test_versions_in_the_tools_own_words(tmp_path: Path) -> None:
    _, listing = formats.read(formats.get("drizzle"), drizzle_dir(tmp_path))
    # drizzle-kit numbers tags from 0000: version = tag number + 1, so that 0 stays "empty"
    assert listing.resolve("0001_brave_fox") == 2 and listing.resolve("1") == 2 and listing.resolve("0000") == 1
    with pytest.raises(formats.FormatError, match="no drizzle migration is numbered or named 'nope'"):
        listing.resolve("nope")
    prisma = formats.get("prisma").listing({"20231103152012_add users/migration.sql": "",
                                            "20231104000000_two/migration.sql": ""})
    assert prisma.resolve("20231103152012_add users") == 20231103152012
    assert prisma.label(20231104000000) == "20231104000000_two" and prisma.label(None) == "0 (empty)"


def test_prisma_and_supabase_refuse_shared_numbers() -> None:
    with pytest.raises(formats.FormatError, match="20240101000000_a and 20240101000000_b share a number"):
        formats.get("prisma").listing({"20240101000000_a/migration.sql": "", "20240101000000_b/migration.sql": ""})
    with pytest.raises(formats.FormatError, match="share a number"):
        formats.get("supabase").listing({"20240101000000_a.sql": "", "20240101000000_b.sql": ""})


def test_live_version_from_each_tools_rows() -> None:
    drizzle = formats.get("drizzle")
    listing = drizzle.listing({"meta/_journal.json": _journal(("0000_a", 10), ("0001_b", 20)), "0000_a.sql": "",
                               "0001_b.sql": ""})
    assert drizzle.live_version([("h", 10), ("h", 20)], listing) == (2, None)
    assert drizzle.live_version([], listing) == (None, None)
    assert "is no journal entry's `when`" in str(drizzle.live_version([("h", 15)], listing)[1])
    prisma = formats.get("prisma")
    pl = prisma.listing({"1_a/migration.sql": "", "2_b/migration.sql": "", "3_c/migration.sql": ""})
    assert prisma.live_version([("1_a", True, False, ""), ("2_b", True, False, ""), ("3_c", True, True, "")],
                               pl) == (2, None)
    assert "failed migration 3_c" in str(prisma.live_version([("3_c", False, False, "")], pl)[1])
    assert "not 1_a before it" in str(prisma.live_version([("2_b", True, False, "")], pl)[1])
    supa = formats.get("supabase")
    sl = supa.listing({"1_a.sql": "", "2_b.sql": ""})
    assert supa.live_version([("1",), ("2",)], sl) == (2, None)
    assert "does not have" in str(supa.live_version([("1",), ("7",)], sl)[1])


def test_bookkeeping_statements_match_each_tool() -> None:
    drizzle = formats.get("drizzle")
    texts = {"meta/_journal.json": _journal(("0000_a", 10), ("0001_b", 20)), "0000_a.sql": "A;", "0001_b.sql": "B;"}
    listing = drizzle.listing(texts)
    up = drizzle.moved(listing, texts, None, 2)
    assert [p for _, p in up] == [(20,), (sha256_hex("A;"), 10), (sha256_hex("B;"), 20)]
    down = drizzle.moved(listing, texts, 2, 0)
    assert down == [('DELETE FROM drizzle.__drizzle_migrations WHERE created_at > %s', (-1,))]
    supa = formats.get("supabase")
    st = {"20240101000000_init.sql": "CREATE TABLE x (id int); INSERT INTO x VALUES (1);"}
    (sql, params), = supa.moved(supa.listing(st), st, None, 20240101000000)
    assert params == ("20240101000000", "init", ["CREATE TABLE x (id int)", "INSERT INTO x VALUES (1)"])
    prisma = formats.get("prisma")
    pt = {"1_a/migration.sql": "A;", "2_b/migration.sql": "B;"}
    (sql, params), = prisma.moved(prisma.listing(pt), pt, 2, 1)
    assert "rolled_back_at = now()" in sql and params == (["2_b"],)
