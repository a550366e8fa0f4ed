"""Shared fixtures: one sandbox (real PostgreSQL, moto, Vercel stand-in) for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rollback import sandbox as sandbox_mod
from rollback.engine import find_engine_dir


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
