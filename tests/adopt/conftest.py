"""The adopter fixture the adoption tests share: a project copy with its own database, dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adopt.test_adopt_corpus_e2e import Adopter


@pytest.fixture
def adopter(sandbox, engine_dir, tmp_path) -> Iterator[Adopter]:
    a = Adopter(sandbox, tmp_path)
    try:
        yield a
    finally:
        a.close()
