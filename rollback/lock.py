"""One rollout per stack: a lock file next to the state backend naming its holder."""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlparse

from rollback.engine import cache_root
from rollback.errors import RollbackError
from rollback.sandbox.processes import alive

if TYPE_CHECKING:
    from pulumi import automation as auto

IDEMPOTENT_STEPS = "pulumi-python:dynamic/rollback:"  # our dynamic steps: re-running one is always safe


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
    guard = _acquire(path, info, stack)
    try:
        for note in [*repair_torn_sidecars(backend_url, stack), *clear_stale_engine_locks(backend_url, stack)]:
            _warn(note)
        yield info
    finally:
        path.unlink(missing_ok=True)
        os.close(guard)  # releases the flock


def _acquire(path: Path, info: dict[str, str | int], stack: str) -> int:
    """flock `<stack>.json.lock` (the kernel drops it when its process dies, so contenders never both take over a
    stale holder), then check the holder file: a live or remote holder refuses, a dead local one is replaced."""
    import fcntl

    guard = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(guard)
        held = _read(path)
        raise StackLocked(f"stack {stack!r} has a rollout in progress, held by "
                          f"{holder_text(held) if held else 'another process of this host'}. "
                          f"Wait for it to finish (lock file {path}).") from None
    held = _read(path)
    if path.exists() and (held is None or held.get("host") != info["host"] or alive(int(held.get("pid", 0) or 0))):
        os.close(guard)
        raise StackLocked(f"stack {stack!r} has a rollout in progress, held by {holder_text(held or {})}. "
                          f"Wait for it to finish (lock file {path}).")
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # a dead holder's file (if any) is replaced atomically
    tmp.write_text(json.dumps(info))
    tmp.replace(path)
    return guard


def _read(path: Path) -> dict[str, str | int] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _warn(text: str) -> None:
    sys.stderr.write(f"warning: {text}\n")
    sys.stderr.flush()


def engine_lock_files(backend_url: str, stack: str) -> list[Path]:
    """The engine's own lock files of `stack` in a file:// backend (.pulumi/locks/<org>/<project>/<stack>/)."""
    parsed = urlparse(backend_url)
    if parsed.scheme != "file":
        return []
    return sorted(Path(parsed.path).glob(f".pulumi/locks/*/*/{stack}/*.json"))


def repair_torn_sidecars(backend_url: str, stack: str) -> list[str]:
    """Remove `.attrs` sidecars a killed engine left empty or torn (call only while holding the rollout lock).

    The file:// backend writes each blob atomically but its metadata sidecar in place; a kill at that moment leaves
    it empty and the engine then cannot read the stack ("failed to load checkpoint: EOF"). The sidecar only holds
    optional metadata (a missing one reads as none), so a torn one is removed.
    """
    parsed = urlparse(backend_url)
    if parsed.scheme != "file":
        return []
    notes: list[str] = []
    for sidecar in Path(parsed.path).glob(f".pulumi/stacks/*/{stack}.json*.attrs"):
        try:
            json.loads(sidecar.read_text())
            continue
        except (OSError, ValueError):
            sidecar.unlink(missing_ok=True)
        notes.append(f"removed a torn metadata file left by an interrupted update: {sidecar.name}")
    return notes


def clear_stale_engine_locks(backend_url: str, stack: str) -> list[str]:
    """Remove engine locks left by a killed process of this host (call only while holding the rollout lock)."""
    notes: list[str] = []
    host = socket.gethostname()
    for lock in engine_lock_files(backend_url, stack):
        held = _read(lock) or {}
        pid = int(held.get("pid", 0) or 0)
        if held.get("hostname") != host or not pid or alive(pid):
            continue  # another host's or a live engine's lock: the engine refuses with its own message
        lock.unlink(missing_ok=True)
        Path(f"{lock}.attrs").unlink(missing_ok=True)
        notes.append(f"removed the engine lock of an interrupted update (pid {pid}, {held.get('timestamp', '?')}, "
                     f"no longer running): {lock.name}")
    return notes


def recover_interrupted(open_stack: Callable[[], auto.Stack], stack: str, backend_url: str) -> list[str]:
    """Pending operations of a killed update: clear ours (idempotent steps, re-run by this apply), refuse others."""
    if not _may_have_pending(backend_url, stack):
        return []
    st = open_stack()
    state = st.export_stack()
    checkpoint = cast("Mapping[str, Any]", state.deployment)  # always set for an exported stack (typed optional)
    ops: list[dict[str, Any]] = list(checkpoint.get("pending_operations") or [])
    if not ops:
        return []
    described = [f"{op.get('type', '?')} {op.get('resource', {}).get('urn', '?').rsplit('::', 1)[-1]}" for op in ops]
    foreign = [d for op, d in zip(ops, described, strict=True)
               if not str(op.get("resource", {}).get("type", "")).startswith(IDEMPOTENT_STEPS)]
    if foreign:
        raise RollbackError(
            f"stack {stack!r} has {len(ops)} pending operation(s) from an interrupted update ({', '.join(described)}); "
            f"{', '.join(foreign)} are not rollback's own idempotent steps, so their real state is unknown. Check "
            f"them at their provider, then clear the operations with `pulumi stack export --stack {stack} --file "
            f"state.json`, remove its \"pending_operations\", `pulumi stack import --stack {stack} --file state.json` "
            f"(or `pulumi refresh --stack {stack} --clear-pending-creates`), and run this apply again.")
    deployment = dict(checkpoint)
    deployment.pop("pending_operations", None)
    state.deployment = deployment
    st.import_stack(state)
    note = (f"the previous update of {stack!r} was interrupted during {len(ops)} step(s) ({', '.join(described)}); "
            "they are rollback's idempotent steps: cleared them from the state and this apply runs them again.")
    _warn(note)
    return [note]


def _may_have_pending(backend_url: str, stack: str) -> bool:
    """Cheap check on a file:// checkpoint (other backends: always look through the engine)."""
    parsed = urlparse(backend_url)
    if parsed.scheme != "file":
        return True
    files = list(Path(parsed.path).glob(f".pulumi/stacks/*/{stack}.json*"))
    return any(f.suffix == ".gz" or b'"pending_operations"' in f.read_bytes() for f in files if ".bak" not in f.name)
