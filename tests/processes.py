"""Processes by an environment mark: what a test started (and everything those started) can be found and reaped."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

MARK = "ROLLBACK_TEST_MARK"


def marked(value: str) -> list[tuple[int, str]]:
    """(pid, command line) of every live process whose environment carries MARK=value, except this one."""
    needle = f"{MARK}={value}".encode()
    found: list[tuple[int, str]] = []
    for env in Path("/proc").glob("[0-9]*/environ"):
        pid = int(env.parent.name)
        try:
            if pid == os.getpid() or needle not in env.read_bytes().split(b"\0"):
                continue
            state = (env.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmd = (env.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if state not in ("Z", "X"):
            found.append((pid, cmd[:160]))
    return found


def outliving(value: str, timeout: float) -> list[tuple[int, str]]:
    """The processes carrying MARK=value still alive after up to timeout seconds (then SIGKILLed, so none leak)."""
    deadline = time.monotonic() + timeout
    while (left := marked(value)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left
