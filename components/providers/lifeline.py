"""A dynamic provider's process ends with the engine that started it.

The engine stops its provider plugins when it exits normally; a killed engine (SIGKILL of `rollback apply`, a CI
runner's job cancelled) cannot, and `python -m pulumi.dynamic` otherwise serves forever. The engine starts it
through the `pulumi-resource-pulumi-python` shell launcher (which does not exec), so the process to outlive is the
launcher's parent. Started from our provider modules' import, i.e. when the engine first hands the process one of
our steps; in any other process it does nothing.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

LAUNCHER = b"pulumi-resource-pulumi-python"
POLL_SECONDS = 0.5
_started = threading.Event()


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat fields after the command name (state is [0], ppid [1], start time [19]); None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def engine_pid() -> int:
    """The engine that launched this provider: our parent, or the launcher script's parent."""
    parent = os.getppid()
    try:
        cmdline = Path(f"/proc/{parent}/cmdline").read_bytes()
    except OSError:
        return parent
    stat = _stat(parent)
    return int(stat[1]) if LAUNCHER in cmdline and stat else parent


def outlived(pid: int, started: str) -> bool:
    """Whether pid has exited (gone, a zombie, or its number reused by a later process)."""
    stat = _stat(pid)
    return stat is None or stat[0] in ("Z", "X") or stat[19] != started


def _watch(pid: int, started: str) -> None:
    while not outlived(pid, started):
        time.sleep(POLL_SECONDS)
    os._exit(0)


def watch_engine() -> None:
    """In a `python -m pulumi.dynamic` process, exit as soon as the engine that started it is gone."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if getattr(spec, "name", None) != "pulumi.dynamic.__main__" or _started.is_set():
        return
    pid = engine_pid()
    stat = _stat(pid)
    if stat is None or pid <= 1:
        return
    _started.set()
    threading.Thread(target=_watch, args=(pid, stat[19]), name="engine-lifeline", daemon=True).start()
