"""Durations as the stack settings write them: a number of seconds, or 500ms, 10s, 1.5m, 2h."""

from __future__ import annotations

import re
from typing import Any

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def seconds(value: Any) -> float | None:
    """A duration as seconds: a number (seconds) or a string like 500ms, 10s, 1.5m, 2h; None when malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    m = DURATION.match(value) if isinstance(value, str) else None
    return float(m.group(1)) * UNIT_SECONDS[m.group(2)] if m else None
