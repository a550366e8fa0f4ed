"""The release rig (sandbox services + a stack of our program) for the engine end-to-end tests."""

from __future__ import annotations

import pytest

from tests.components.e2e_support import rig as make_rig


@pytest.fixture
def rig(sandbox, engine_dir, backend_url):
    yield from make_rig(sandbox, backend_url)
