"""The rollout lock of an s3:// backend: an object next to the state, taken with S3 conditional writes and held by a
lease its holder renews.

Taking it is `PutObject If-None-Match: *` (exactly one writer succeeds); a holder whose lease ran out is replaced
with `PutObject If-Match: <its ETag>` (exactly one contender succeeds); every write is read back before it counts,
so a store that checked the condition without atomicity still elects one holder. Expiry is judged on the bucket's
clock (the response's Date minus the object's LastModified), never by comparing two machines' clocks.

Every request is retried within the stack's retry budget (rollback:retries) on a transient answer (503 SlowDown,
500, a dropped connection). Reads and the conditional delete are safe to repeat; a conditional write repeated after
an answer that never arrived may find its own first attempt in place (412): a lock whose record is exactly ours
(same pid, machine and start time) is ours, so the repeat is safe too.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from components.providers.retrying import DEFAULT_BUDGET_S, Budget, BudgetSpent, s3_call
from components.runtime_env import S3_CONFIG
from rollback.errors import RollbackError
from rollback.lock_holder import StackLocked, died_here, holder_text
from rollback.s3url import S3Location, open_s3

CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


class LeaseLost(RollbackError):
    """Another machine holds the lock we were renewing."""


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


@contextmanager
def _reaching(where: str) -> Iterator[None]:
    """The bucket's errors (missing bucket, credentials, endpoint) as one line naming the lock and the fix."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except BudgetSpent as exc:
        raise RollbackError(f"the rollout lock {where} could not be taken or read: {exc.summary}; nothing was "
                            "changed: run the rollout again once the bucket answers, or raise "
                            "rollback:retries.budget") from None
    except (ClientError, BotoCoreError) as exc:
        cause = _code(exc) or type(exc).__name__
        raise RollbackError(f"the rollout lock {where} cannot be read or written ({cause}: {exc}); check that the "
                            "bucket of PULUMI_BACKEND_URL exists and that the AWS credentials and endpoint in the "
                            "environment reach it") from None


class S3Lease:
    """One stack's rollout lock in the backend's bucket (`<prefix>/.rollback-locks/<stack>.json`)."""

    def __init__(self, backend_url: str, stack: str, budget_seconds: float = DEFAULT_BUDGET_S) -> None:
        """Open the backend's bucket (one attempt per request: the budget retries); nothing is read or written."""
        self.loc: S3Location = open_s3(backend_url, S3_CONFIG)
        self.budget_seconds = budget_seconds
        self.budget = Budget(budget_seconds)
        self.stack = stack
        self.key = self.loc.key(f".rollback-locks/{stack}.json")
        self.where = f"s3://{self.loc.bucket}/{self.key}"
        self.etag: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def holder(self) -> tuple[dict[str, Any], float] | None:
        """The holder's record and the seconds since it was last written (bucket clock), or None when free."""
        from botocore.exceptions import ClientError

        def read() -> tuple[dict[str, Any], bytes]:
            got = self.loc.client.get_object(Bucket=self.loc.bucket, Key=self.key)
            return got, got["Body"].read()

        try:
            resp, raw = s3_call(self.budget, f"GET {self.where}", read)
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        try:
            info = json.loads(raw)
        except ValueError:
            info = {}
        info = info if isinstance(info, dict) else {}
        info["_etag"] = resp["ETag"]
        return info, _age(resp)

    def acquire(self, info: dict[str, Any]) -> dict[str, Any] | None:
        """Take the lock for info; returns the holder replaced because it was dead (None when it was free)."""
        self.budget = Budget(self.budget_seconds)
        with _reaching(self.where):
            previous = self._acquire(info)
        spent = self.budget.report()
        if spent:
            sys.stderr.write(f"note: the rollout lock {self.where} took {spent['calls']} calls ({spent['retries']} "
                             f"retries, {spent['wait_seconds']}s waiting; last: {spent['last_transient']})\n")
        return previous

    def _acquire(self, info: dict[str, Any]) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        body = json.dumps(info).encode()
        previous: dict[str, Any] | None = None
        try:
            etag = self._put(body, IfNoneMatch="*")
        except ClientError as exc:
            if _code(exc) not in CONFLICT_CODES:
                raise
            held = self.holder()
            if held is None:  # released between our write and our read: one more try, as a fresh contender
                return self._acquire(info)
            if _ours(held[0], info):  # our first attempt landed, its answer did not reach us: a retry met it
                return self._held(held[0]["_etag"], info, None)
            previous, age = held
            lease = _lease(previous)
            if age < lease and not died_here(previous):
                raise self.locked(previous, f"its lease is live for {lease - age:.0f}s more") from None
            try:
                etag = self._put(body, IfMatch=previous["_etag"])
            except ClientError as exc2:
                if _code(exc2) not in CONFLICT_CODES and _code(exc2) not in ("NoSuchKey", "404"):
                    raise
                raise self.locked(self.holder_info() or previous, "another machine took it over first") from None
            previous = {**previous, "replaced": "its process is no longer running" if age < lease else
                        f"its lease expired {age - lease:.0f}s ago"}
        return self._held(etag, info, previous)

    def _held(self, etag: str, info: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any] | None:
        """Read the lock back; ours only if the bucket holds our write, then renewed until released."""
        held = self.holder()  # read back: the write counts only if it is what the bucket now holds
        if held is None or held[0]["_etag"] != etag:
            raise self.locked(held[0] if held else {}, "another machine took it at the same moment") from None
        self.etag = etag
        self._renewer = threading.Thread(target=self._renew, args=(info,), name="rollout-lease", daemon=True)
        self._renewer.start()
        return previous

    def holder_info(self) -> dict[str, Any] | None:
        """The holder's record, or None."""
        with _reaching(self.where):
            held = self.holder()
        return held[0] if held else None

    def locked(self, held: dict[str, Any], why: str) -> RollbackError:
        """The refusal naming the holder."""
        return StackLocked(f"stack {self.stack!r} has a rollout in progress, held by {holder_text(held)} ({why}). "
                           f"Wait for it to finish (lock object {self.where}).")

    def release(self) -> None:
        """Stop renewing and delete the lock if it is still ours."""
        from botocore.exceptions import BotoCoreError, ClientError

        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=10)
        if self.etag is None:
            return
        etag = self.etag
        try:
            s3_call(Budget(self.budget_seconds), f"DELETE {self.where}", lambda: self.loc.client.delete_object(
                Bucket=self.loc.bucket, Key=self.key, IfMatch=etag))
        except BudgetSpent as exc:  # the lease then runs out by itself
            sys.stderr.write(f"warning: could not release the rollout lock {self.where} ({exc}); it expires "
                             "when its lease runs out\n")
        except (ClientError, BotoCoreError) as exc:  # the lease then runs out by itself
            if _code(exc) not in CONFLICT_CODES and _code(exc) not in ("NoSuchKey", "404"):
                sys.stderr.write(f"warning: could not release the rollout lock {self.where} ({exc}); it expires "
                                 "when its lease runs out\n")
        self.etag = None

    def _put(self, body: bytes, budget: Budget | None = None, **condition: str) -> str:
        resp = s3_call(budget or self.budget, f"PUT {self.where}", lambda: self.loc.client.put_object(
            Bucket=self.loc.bucket, Key=self.key, Body=body, ContentType="application/json", **condition))
        return str(resp["ETag"])

    def _renew(self, info: dict[str, Any]) -> None:
        """Rewrite the lock every third of the lease while the rollout runs; a lost lease stops our engine."""
        from botocore.exceptions import BotoCoreError, ClientError

        lease = _lease(info)
        last_ok = time.monotonic()
        while not self._stop.wait(lease / 3):
            try:
                self.etag = self._put(json.dumps(info).encode(), Budget(lease / 3), IfMatch=str(self.etag))
                last_ok = time.monotonic()
                continue
            except ClientError as exc:
                if _code(exc) not in CONFLICT_CODES and _code(exc) not in ("NoSuchKey", "404"):
                    if time.monotonic() - last_ok < lease:
                        continue
            except (BotoCoreError, BudgetSpent):
                if time.monotonic() - last_ok < lease:
                    continue  # the bucket is unreachable for now: the lease still covers us
            self.etag = None
            _lost(self.stack, self.where)
            return


def _ours(held: dict[str, Any], info: dict[str, Any]) -> bool:
    """Whether the lock's record is the one we wrote (a holder record names its pid, machine and start)."""
    return {k: v for k, v in held.items() if k != "_etag"} == info


def _lease(info: dict[str, Any]) -> float:
    try:
        return max(1.0, float(info.get("lease", 0)))
    except (TypeError, ValueError):
        return 60.0


def _age(resp: dict[str, Any]) -> float:
    """Seconds between the object's last write and the response, both on the bucket's clock."""
    modified: datetime = resp["LastModified"]
    date = resp.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    try:
        now = parsedate_to_datetime(date) if date else datetime.now(modified.tzinfo)
    except (TypeError, ValueError):
        now = datetime.now(modified.tzinfo)
    if now.tzinfo is None:  # a proxy repeating the header: botocore joins both values, which parses naive
        now = datetime.now(modified.tzinfo)
    return max(0.0, (now - modified).total_seconds())


def _lost(stack: str, where: str) -> None:
    """Say so and interrupt our engine: it finishes the step in flight and stops, as after Ctrl-C."""
    sys.stderr.write(f"error: lost the rollout lock of {stack!r} ({where}): another machine took it over after "
                     "our lease could not be renewed; stopping this rollout's engine.\n")
    sys.stderr.flush()
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            comm = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
        except (OSError, IndexError):
            continue
        if fields[1] == me and comm == "pulumi":
            os.kill(int(stat.parent.name), signal.SIGINT)
