"""The migration corpus is valid golang-migrate input: golang-migrate's own CLI walks every set up and down.

For each committed set (and a generated 1000-version one): `migrate up`, `migrate goto` every version
descending to the first and back up, `migrate version` agreeing each time, every down restoring exactly the
schema its version had on the way up (pg_dump), and `down -all` returning to an empty schema. For
`failing_down`: going below version 4 fails in its down file and leaves golang-migrate dirty at 3.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import golang_migrate as gm
from tests.corpus.generate import large_set
from tests.databases import create_database, drop_database

pytestmark = pytest.mark.e2e

FAILING_SET = "failing_down"
FAILING_VERSION = 4  # its down file fails; golang-migrate records the down's target, 3, as dirty
FAILING_ERROR = 'relation "invoice_note_history" does not exist'
SETS = [p.name for p in gm.corpus_sets() if p.name != FAILING_SET]


@pytest.fixture(scope="module")
def migrate_bin() -> Path:
    return gm.migrate_bin()


@pytest.fixture
def dsn(sandbox, migrate_bin):
    dsn = create_database(sandbox, "gm")
    yield dsn
    drop_database(sandbox, dsn)


def walk(dsn: str, env: dict[str, str], source: Path, versions: list[int]) -> None:
    """goto each of `versions` ascending, then descending, then up and down -all, checking version and schema."""
    assert gm.version(dsn, source) == (None, False)
    empty = gm.schema_dump(dsn, env)  # golang-migrate has created its (empty) schema_migrations table
    assert "schema_migrations" in empty
    dumps: dict[int, str] = {}
    for v in versions:
        gm.goto(dsn, source, v)
        assert gm.version(dsn, source) == (v, False)
        dumps[v] = gm.schema_dump(dsn, env)
    assert gm.up(dsn, source).stderr.strip() == "no change"
    for v in reversed(versions):
        gm.goto(dsn, source, v)
        assert gm.version(dsn, source) == (v, False)
        assert gm.schema_dump(dsn, env) == dumps[v], f"{source.name}: schema at {v} differs after its downs"
    gm.up(dsn, source)
    assert gm.version(dsn, source) == (versions[-1], False)
    assert gm.schema_dump(dsn, env) == dumps[versions[-1]]
    gm.down_all(dsn, source)
    assert gm.version(dsn, source) == (None, False)
    assert gm.schema_dump(dsn, env) == empty


@pytest.mark.parametrize("name", SETS)
def test_set_walks_up_and_down(sandbox, dsn, name):
    source = gm.CORPUS / name
    versions = gm.versions(source)
    assert len(versions) >= 5
    assert {f.name for f in source.iterdir()} == {f.name for f in source.glob("*.sql")}
    walk(dsn, sandbox.env(), source, versions)


def test_every_version_has_up_and_down():
    for source in gm.corpus_sets():
        ups = {int(f.name.split("_", 1)[0]) for f in source.glob("*.up.sql")}
        downs = {int(f.name.split("_", 1)[0]) for f in source.glob("*.down.sql")}
        assert ups == downs == set(gm.versions(source)), source.name


def test_failing_down_goes_dirty(sandbox, dsn):
    source = gm.CORPUS / FAILING_SET
    env = sandbox.env()
    versions = gm.versions(source)
    gm.up(dsn, source)
    assert gm.version(dsn, source) == (versions[-1], False)
    for v in reversed([v for v in versions if v >= FAILING_VERSION]):
        gm.goto(dsn, source, v)
        assert gm.version(dsn, source) == (v, False)
    at_failing = gm.schema_dump(dsn, env)
    below = max(v for v in versions if v < FAILING_VERSION)
    proc = gm.goto(dsn, source, below, check=False)
    assert proc.returncode == 1
    assert FAILING_ERROR in proc.stderr and "migration failed" in proc.stderr
    assert gm.version(dsn, source) == (below, True)
    # The file ran as one multi-statement query: PostgreSQL rolled its first statement back too.
    assert gm.schema_dump(dsn, env) == at_failing
    again = gm.goto(dsn, source, versions[0], check=False)
    assert again.returncode == 1 and f"Dirty database version {below}" in again.stderr


def test_large_generated_set(sandbox, dsn, tmp_path):
    source = tmp_path / "large"
    versions = large_set(source, 1000)
    assert len(versions) == len(set(versions)) == 1000 and gm.versions(source) == versions
    assert len(list(source.iterdir())) == 2000
    # Every version by goto would take ~100 s (one process each); a spread of 40 plus both ends.
    sample = sorted({versions[i] for i in range(0, 1000, 25)} | {versions[1], versions[-2], versions[-1]})
    gm.up(dsn, source)
    assert gm.version(dsn, source) == (versions[-1], False)
    top = gm.schema_dump(dsn, sandbox.env())
    assert top.count("CREATE TABLE public.feature_") == 250
    walk_down = list(reversed(sample))
    for v in walk_down:
        gm.goto(dsn, source, v)
        assert gm.version(dsn, source) == (v, False)
    assert gm.schema_dump(dsn, sandbox.env()).count("CREATE TABLE public.feature_") == 1
    gm.up(dsn, source)
    assert gm.version(dsn, source) == (versions[-1], False)
    assert gm.schema_dump(dsn, sandbox.env()) == top
