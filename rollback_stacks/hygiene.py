"""No secrets in version documents: keys named like credentials and values that look like them are refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_SECRET_KEY = re.compile(r"(^|[_-])(password|passwd|pwd|secret|token|api[_-]?key|private[_-]?key|credentials?)"
                         r"($|[_-])", re.IGNORECASE)
_SECRET_VALUE = [
    (re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE), "a URL with user:password@"),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\b(sk_live_|ghp_|github_pat_|xox[bap]-)[A-Za-z0-9_]{10,}"), "an API token"),
]


_FILE_NAME_KEYS = {("database", "migrations")}  # mappings keyed by file names: `…_secret_fields.up.sql` is no secret


def findings(data: Any, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(location, what) for every credential-like key or value in a parsed document."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and loc not in _FILE_NAME_KEYS and _SECRET_KEY.search(key):
                yield (*loc, key), f"a key named like a credential ({key!r})"
            yield from findings(value, (*loc, str(key)))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from findings(item, (*loc, i))
    elif isinstance(data, str):
        for pattern, what in _SECRET_VALUE:
            if pattern.search(data):
                yield loc, what
