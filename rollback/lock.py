"""One rollout per stack: a lock file next to the state backend naming its holder."""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from rollback.engine import cache_root
from rollback.errors import RollbackError
from rollback.sandbox.processes import alive


class StackLocked(RollbackError):
    """Another rollout holds the stack."""


def lock_path(backend_url: str, stack: str) -> Path:
    """Where the stack's rollout lock lives (with a file:// backend, inside it)."""
    parsed = urlparse(backend_url)
    base = Path(parsed.path) if parsed.scheme == "file" else cache_root() / "locks"
    return base / ".rollback-locks" / f"{stack}.json"


def holder_text(info: dict[str, str | int]) -> str:
    """`user@host (pid N) since T, target X: reason` for messages."""
    return (f"{info.get('user')}@{info.get('host')} (pid {info.get('pid')}) since {info.get('since')}, "
            f"target {info.get('target')}: {info.get('reason') or 'no reason given'}")


@contextmanager
def rollout_lock(backend_url: str, stack: str, *, target: str, reason: str | None) -> Iterator[dict[str, str | int]]:
    """Hold the stack's rollout lock for the duration; refuse naming the holder if taken."""
    path = lock_path(backend_url, stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    info: dict[str, str | int] = {"user": getpass.getuser(), "host": socket.gethostname(), "pid": os.getpid(),
                                  "since": datetime.now(UTC).isoformat(timespec="seconds"), "target": target,
                                  "reason": reason or ""}
    _acquire(path, info, stack)
    try:
        yield info
    finally:
        path.unlink(missing_ok=True)


def _acquire(path: Path, info: dict[str, str | int], stack: str) -> None:
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            held = _read(path)
            if held and held.get("host") == info["host"] and not alive(int(held.get("pid", 0) or 0)):
                path.unlink(missing_ok=True)  # its process is gone: a stale lock from a killed rollout
                continue
            raise StackLocked(f"stack {stack!r} has a rollout in progress, held by {holder_text(held or {})}. "
                              f"Wait for it to finish (lock file {path}).") from None
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
        return
    raise StackLocked(f"could not take the rollout lock {path}: it keeps reappearing; retry.")


def _read(path: Path) -> dict[str, str | int] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
