"""Shared fixtures: one sandbox (real PostgreSQL, moto, Vercel stand-in) for the whole test session."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import sandbox as sandbox_mod
from rollback.engine import find_engine_dir
from tests.processes import MARK, outliving


@pytest.fixture(scope="session")
def sandbox() -> Iterator[sandbox_mod.Sandbox]:
    """A running sandbox in its own temp dir, stopped and removed after the session."""
    with sandbox_mod.private("rollback-test-sandbox-") as sb:
        yield sb


@pytest.fixture(scope="session")
def engine_dir() -> Path:
    """The engine's bin dir; `make test` builds it first, so absence is a hard failure."""
    return find_engine_dir()


@pytest.fixture
def backend_url(tmp_path: Path) -> str:
    """A fresh file:// state backend per test."""
    state = tmp_path / "state"
    state.mkdir()
    return f"file://{state}"


SESSION_MARK = uuid.uuid4().hex
os.environ[MARK] = SESSION_MARK  # every process the suite starts inherits it, whatever starts it


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No process the suite started outlives it: a leftover (an orphaned provider of a killed rollout, a service
    never stopped) fails the run, named, and is killed."""
    left = outliving(SESSION_MARK, timeout=10)
    if left:
        sys.stderr.write(f"\nerror: {len(left)} process(es) started by the tests outlived them (killed now):\n"
                         + "".join(f"  pid {pid}: {cmd}\n" for pid, cmd in left))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
