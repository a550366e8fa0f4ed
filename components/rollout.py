"""Rollout ids: stable digests of what a target changes, so unchanged targets cause no freeze, snapshot or gate."""

from __future__ import annotations

import hashlib
import json
from typing import Any

COMPONENTS = ("jobs", "snapshot", "schema", "dbobjects", "alias", "health")


def digest(value: Any, size: int = 16) -> str:
    """Hex sha256 prefix of value's canonical JSON."""
    canon = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canon.encode()).hexdigest()[:size]


def sha256_text(text: str) -> str:
    """Full hex sha256 of text (UTF-8), as recorded in version documents."""
    return hashlib.sha256(text.encode()).hexdigest()
