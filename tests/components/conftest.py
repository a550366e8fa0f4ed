"""Fixtures for direct provider tests: a fresh database per test and the sandbox's variables in os.environ."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from components.rollout import sha256_text
from tests.databases import create_database, drop_database


@pytest.fixture
def db(sandbox, monkeypatch) -> Iterator[str]:
    """A fresh database as DATABASE_URL, with every sandbox variable in os.environ (as the provider sees it)."""
    dsn = create_database(sandbox)
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATABASE_URL", dsn)
    yield dsn
    drop_database(sandbox, dsn)


@pytest.fixture
def standin(sandbox) -> Iterator[httpx.Client]:
    """An authenticated client of the Vercel stand-in."""
    env = sandbox.env()
    with httpx.Client(base_url=env["VERCEL_API_URL"], headers={"Authorization": f"Bearer {env['VERCEL_TOKEN']}"},
                      timeout=10) as client:
        yield client


MIGRATIONS = {
    "0001_items.up.sql": "CREATE TABLE items (id int PRIMARY KEY, note text);",
    "0001_items.down.sql": "DROP TABLE IF EXISTS items;",
    "0002_tags.up.sql": "CREATE TABLE tags (id int PRIMARY KEY);\nALTER TABLE items ADD COLUMN tag int;",
    "0002_tags.down.sql": "ALTER TABLE items DROP COLUMN IF EXISTS tag;\nDROP TABLE IF EXISTS tags;",
    "0003_index.up.sql": "CREATE INDEX items_note_idx ON items (note);",
    "0003_index.down.sql": "DROP INDEX IF EXISTS items_note_idx;",
}


@pytest.fixture
def migrations() -> dict[str, str]:
    """A small golang-migrate directory as file name -> SQL."""
    return dict(MIGRATIONS)


def checksums(files: dict[str, str]) -> dict[str, str]:
    """Recorded sha256 of each file."""
    return {name: sha256_text(sql) for name, sql in files.items()}


def write_dir(root: Path, files: dict[str, str]) -> Path:
    """Write files into root (created) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root
