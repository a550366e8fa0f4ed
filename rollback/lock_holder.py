"""Who holds a stack's rollout lock, and whether that holder is a dead process of this machine: what the lock file
(rollback.lock) and the S3 lease (rollback.lock_s3) share."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from rollback.errors import RollbackError


class StackLocked(RollbackError):
    """Another rollout holds the stack."""


def holder_text(info: dict[str, Any]) -> str:
    """`user@host (pid N) since T, target X: reason` for messages."""
    return (f"{info.get('user')}@{info.get('host')} (pid {info.get('pid')}) since {info.get('since')}, "
            f"target {info.get('target')}: {info.get('reason') or 'no reason given'}")


def machine_id() -> str:
    """This kernel boot and pid namespace: two holders with equal ids see the same processes (a host name alone
    does not prove that: two containers may share one)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return ""


def running(pid: int) -> bool:
    """Whether pid is a process of this pid namespace that has not exited (a zombie has: it holds nothing)."""
    if pid <= 0:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def died_here(info: dict[str, Any]) -> bool:
    """Whether a holder record names a process of this machine that is no longer running."""
    pid = int(info.get("pid", 0) or 0)
    return (bool(machine_id()) and info.get("machine") == machine_id() and info.get("host") == socket.gethostname()
            and pid > 0 and not running(pid))
