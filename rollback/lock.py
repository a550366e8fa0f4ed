"""One rollout per stack: a lock next to the state naming its holder (a file with a file:// backend, an object held
by a lease with s3://), and the repair of what a dead holder left, never of what a live update holds."""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import urlparse

from rollback.engine import cache_root
from rollback.errors import RollbackError
from rollback.lock_holder import StackLocked, holder_text, machine_id, running

if TYPE_CHECKING:
    from pulumi import automation as auto

IDEMPOTENT_STEPS = "pulumi-python:dynamic/rollback:"  # our dynamic steps: re-running one is always safe


LEASE_ENV = "ROLLBACK_LEASE_SECONDS"
DEFAULT_LEASE = 60


def lock_path(backend_url: str, stack: str) -> Path:
    """Where the stack's rollout lock file lives (with a file:// backend, inside it; for a backend other than
    file:// and s3://, in this machine's cache: it excludes rollouts of this machine only)."""
    parsed = urlparse(backend_url)
    base = Path(parsed.path) if parsed.scheme == "file" else cache_root() / "locks"
    return base / ".rollback-locks" / f"{stack}.json"


def lease_seconds(env: dict[str, str] | None = None) -> int:
    """How long a holder's lock outlives its last renewal ($ROLLBACK_LEASE_SECONDS, 5..3600, default 60)."""
    raw = (env if env is not None else os.environ).get(LEASE_ENV, "")
    if not raw:
        return DEFAULT_LEASE
    if not raw.isdigit() or not 5 <= int(raw) <= 3600:
        raise RollbackError(f"{LEASE_ENV}={raw!r}: the rollout lock's lease must be a whole number of seconds "
                            f"from 5 to 3600 (default {DEFAULT_LEASE}); unset it or set e.g. {LEASE_ENV}=60")
    return int(raw)


@dataclass
class Holding:
    """Our holder record, and the holder we replaced because it was dead (None when the lock was free)."""

    info: dict[str, Any]
    previous: dict[str, Any] | None


class RolloutLock(Protocol):
    """Where a stack's rollout lock lives: taken for a holder, released, read."""

    def acquire(self, info: dict[str, Any]) -> dict[str, Any] | None:
        """Take it for info, or raise StackLocked naming the holder; returns the dead holder replaced, if any."""

    def release(self) -> None:
        """Give it up if it is still ours."""

    def holder_info(self) -> dict[str, Any] | None:
        """The holder's record now, or None."""


class FileLock:
    """The lock file `<dir>/.rollback-locks/<stack>.json` under an flock (file:// backends and, per machine, others)."""

    def __init__(self, backend_url: str, stack: str) -> None:
        """Nothing is read or written yet."""
        self.path, self.stack = lock_path(backend_url, stack), stack
        self.guard: int | None = None

    def acquire(self, info: dict[str, Any]) -> dict[str, Any] | None:
        """flock `<stack>.json.lock` (the kernel drops it when its process dies, so contenders never both take over
        a stale holder), then check the holder file: a live or remote holder refuses, a dead local one is replaced."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        guard = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(guard)
            held = _read(self.path)
            raise StackLocked(f"stack {self.stack!r} has a rollout in progress, held by "
                              f"{holder_text(held) if held else 'another process of this host'}. "
                              f"Wait for it to finish (lock file {self.path}).") from None
        held = _read(self.path)
        if self.path.exists() and (held is None or held.get("host") != info["host"]
                                   or running(int(held.get("pid", 0) or 0))):
            os.close(guard)
            raise StackLocked(f"stack {self.stack!r} has a rollout in progress, held by {holder_text(held or {})}. "
                              f"Wait for it to finish (lock file {self.path}).")
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")  # a dead holder's file is replaced atomically
        tmp.write_text(json.dumps(info))
        tmp.replace(self.path)
        self.guard = guard
        return held

    def release(self) -> None:
        """Remove the holder file, then drop the flock."""
        if self.guard is not None:
            self.path.unlink(missing_ok=True)
            os.close(self.guard)
            self.guard = None

    def holder_info(self) -> dict[str, Any] | None:
        """The holder file's record, or None."""
        return _read(self.path)


def open_lock(backend_url: str, stack: str, retry_budget: float | None = None) -> RolloutLock:
    """The stack's rollout lock: in the bucket for s3:// (its requests retried within retry_budget seconds, else
    the default), a lock file otherwise."""
    if urlparse(backend_url).scheme == "s3":
        from rollback.lock_s3 import S3Lease

        return S3Lease(backend_url, stack) if retry_budget is None else S3Lease(backend_url, stack, retry_budget)
    return FileLock(backend_url, stack)


def current_holder(backend_url: str, stack: str) -> dict[str, Any] | None:
    """The stack's rollout lock holder now, or None."""
    return open_lock(backend_url, stack).holder_info()


@contextmanager
def rollout_lock(backend_url: str, stack: str, *, target: str, reason: str | None,
                 retry_budget: float | None = None) -> Iterator[Holding]:
    """Hold the stack's rollout lock for the duration; refuse naming the holder if taken. Then repair what a dead
    holder left (torn metadata, its engine lock), and only that. retry_budget: the stack's rollback:retries."""
    info: dict[str, Any] = {"user": getpass.getuser(), "host": socket.gethostname(), "pid": os.getpid(),
                            "since": datetime.now(UTC).isoformat(timespec="seconds"), "target": target,
                            "reason": reason or "", "lease": lease_seconds(), "machine": machine_id()}
    scheme = urlparse(backend_url).scheme
    if scheme not in ("file", "s3"):
        _warn(f"the rollout lock of a {scheme}:// backend is kept on this machine only; the backend's own "
              "update lock refuses a second update from elsewhere, and pending operations are never cleared")
    lock = open_lock(backend_url, stack, retry_budget)
    holding = Holding(info, lock.acquire(info))
    try:
        if holding.previous:
            _warn(f"took over the rollout lock of {stack!r} from {holder_text(holding.previous)}: "
                  f"{holding.previous.get('replaced', 'its process is no longer running')}")
        for note in [*repair_torn_sidecars(backend_url, stack),
                     *clear_stale_engine_locks(backend_url, stack, holding.previous)]:
            _warn(note)
        yield holding
    finally:
        lock.release()


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _warn(text: str) -> None:
    sys.stderr.write(f"warning: {text}\n")
    sys.stderr.flush()


@dataclass
class EngineLock:
    """One of the engine's own lock records of a stack (`.pulumi/locks/<org>/<project>/<stack>/<id>.json`)."""

    key: str  # relative to the backend root
    content: dict[str, Any]

    def describe(self) -> str:
        """`user@host (pid N) at T` as the engine writes it."""
        c = self.content
        return f"{c.get('username')}@{c.get('hostname')} (pid {c.get('pid')}) at {c.get('timestamp', '?')}"


def engine_locks(backend_url: str, stack: str) -> list[EngineLock]:
    """The engine's lock records of `stack` in a file:// or s3:// backend (none for other backends)."""
    parsed = urlparse(backend_url)
    if parsed.scheme == "file":
        root = Path(parsed.path)
        return [EngineLock(str(p.relative_to(root)), _read(p) or {})
                for p in sorted(root.glob(f".pulumi/locks/*/*/{stack}/*.json"))]
    if parsed.scheme != "s3":
        return []
    from rollback.s3url import open_s3

    loc = open_s3(backend_url)
    pages = loc.client.get_paginator("list_objects_v2").paginate(Bucket=loc.bucket, Prefix=loc.key(".pulumi/locks/"))
    keys = [loc.relative(o["Key"]) for page in pages for o in page.get("Contents", [])]
    found: list[EngineLock] = []
    for key in sorted(k for k in keys if k.endswith(".json") and k.split("/")[-2:-1] == [stack]):
        try:
            content = json.loads(loc.client.get_object(Bucket=loc.bucket, Key=loc.key(key))["Body"].read())
        except Exception:  # removed meanwhile, or torn: read as unknown
            content = {}
        found.append(EngineLock(key, content if isinstance(content, dict) else {}))
    return found


def _remove_engine_lock(backend_url: str, lock: EngineLock) -> None:
    parsed = urlparse(backend_url)
    if parsed.scheme == "file":
        (Path(parsed.path) / lock.key).unlink(missing_ok=True)
        (Path(parsed.path) / f"{lock.key}.attrs").unlink(missing_ok=True)
        return
    from rollback.s3url import open_s3

    loc = open_s3(backend_url)
    loc.client.delete_object(Bucket=loc.bucket, Key=loc.key(lock.key))


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


def clear_stale_engine_locks(backend_url: str, stack: str, previous: dict[str, Any] | None = None) -> list[str]:
    """Remove the engine locks of updates provably over (call only while holding the rollout lock): with a file://
    backend, a process of this host that is no longer running; on any backend, an engine the dead holder we replaced
    started."""
    notes: list[str] = []
    host = socket.gethostname()
    shared = urlparse(backend_url).scheme != "file"  # another machine may share our host name: names prove nothing
    for lock in engine_locks(backend_url, stack):
        held = lock.content
        pid = int(held.get("pid", 0) or 0)
        if not shared and held.get("hostname") == host and pid and not running(pid):
            why = "no longer running"
        elif _started_by_dead(held, previous):
            why = "started by the dead rollout this one took over"
        else:
            continue  # a live engine, or one we cannot prove dead: recover_interrupted refuses
        _remove_engine_lock(backend_url, lock)
        notes.append(f"removed the engine lock of an interrupted update ({lock.describe()}, {why}): "
                     f"{lock.key.rsplit('/', 1)[-1]}")
    return notes


def _started_by_dead(engine: dict[str, Any], previous: dict[str, Any] | None) -> bool:
    """Whether an engine lock was taken on the host of a holder we replaced (dead), after that holder started
    (both times are that host's clock)."""
    if not previous or engine.get("hostname") != previous.get("host"):
        return False
    try:
        started = datetime.fromisoformat(str(previous["since"]))
        taken = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", str(engine["timestamp"])))
    except (KeyError, ValueError):
        return False
    return (taken - started).total_seconds() >= -1


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
    live = engine_locks(backend_url, stack)
    if live:  # the update that left them may still be running: its operations are not ours to clear
        raise RollbackError(
            f"stack {stack!r} has {len(ops)} pending operation(s) ({', '.join(described)}) and is locked by an "
            f"update that may still be running: {'; '.join(lock.describe() for lock in live)}. Wait for it to end; "
            f"if that process is dead, `pulumi cancel --stack {stack}` removes its lock, then run this apply again.")
    if urlparse(backend_url).scheme not in ("file", "s3"):
        raise RollbackError(
            f"stack {stack!r} has {len(ops)} pending operation(s) from an interrupted update ({', '.join(described)}); "
            f"on this backend rollback cannot prove that update is over. Once it is, run `pulumi cancel --stack "
            f"{stack}` if needed and `pulumi refresh --stack {stack} --clear-pending-creates`, then this apply again.")
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
