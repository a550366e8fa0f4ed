"""The app under load during a rollout: 4 clients run the example app's steady traffic (rollback_stacks/local/
traffic.sql) for the whole of `rollback apply local --to v1.4.2` and the release back to v1.5.0. No statement fails,
no stretch without a completed statement is longer than one lock wait, and the database ends as it does without
traffic."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from components.runtime_env import libpq_env
from sandbox.traffic import APPLICATION_NAME, Traffic, load_queries
from tests.databases import create_database, drop_database
from tests.operator.test_rollout_e2e import Operator

pytestmark = pytest.mark.e2e
LOCK_TIMEOUT = 1.0  # the product's default lock_timeout per statement (rollback:locks.timeout)
QUERIES = Path(__file__).resolve().parents[2] / "rollback_stacks" / "local" / "traffic.sql"


def schema_dump(o: Operator) -> str:
    """pg_dump --schema-only of the test's database, without version/restrict noise."""
    out = subprocess.run([f"{o.env['PG_BINDIR']}/pg_dump", "--schema-only", "--no-owner"],
                         env={**o.env, **libpq_env(o.dsn)}, capture_output=True, text=True, check=True).stdout
    return "\n".join(line for line in out.splitlines() if not line.startswith(("--", "\\restrict", "\\unrestrict")))


def traffic_sessions(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                            (APPLICATION_NAME,)).fetchone()[0]


@pytest.fixture
def o(sandbox, tmp_path) -> Any:
    from sandbox import seed_deployments

    seed_deployments(sandbox)
    (tmp_path / "state").mkdir()
    dsn = create_database(sandbox, "traffic")
    yield Operator(sandbox, dsn, tmp_path / "state", tmp_path / "reports")
    drop_database(sandbox, dsn)


def test_rollback_and_release_under_live_traffic(o):
    assert o.run("apply", "local", "--to", "v1.4.2", "--yes").returncode == 0
    quiet_v142 = schema_dump(o)  # the end states of runs without traffic
    assert o.run("apply", "local", "--to", "v1.5.0", "--yes").returncode == 0
    quiet_v150, flags_v150 = schema_dump(o), o.flags()

    with Traffic(o.dsn, load_queries(QUERIES), clients=4) as traffic:
        assert traffic_sessions(o.dsn) == 4
        back = o.run("apply", "local", "--to", "v1.4.2", "--yes", "--reason", "rollback under live traffic")
        assert back.returncode == 0, back.stdout + back.stderr
        assert (o.schema_version(), o.alias_target()) == (3, "dpl_v142")
        assert schema_dump(o) == quiet_v142
        forward = o.run("apply", "local", "--to", "v1.5.0", "--yes", "--reason", "release under live traffic")
        assert forward.returncode == 0, forward.stdout + forward.stderr
        result = traffic.stop()

    figures = result.summary()
    assert result.errors == [], figures
    assert result.completed >= 1000, figures
    assert result.longest_gap <= LOCK_TIMEOUT + 1.0, figures
    assert (o.schema_version(), o.alias_target(), o.flags()) == (5, "dpl_v150", flags_v150)
    assert schema_dump(o) == quiet_v150
    with psycopg.connect(o.dsn) as conn:  # the traffic's writes went through, and nothing a health check counts
        assert conn.execute("SELECT count(*) FROM public.notifications").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM public.dead_letter_queue").fetchone()[0] == 0
    assert traffic_sessions(o.dsn) == 0
