"""The lock budget at run time: every session a step opens runs under `lock_timeout`; a statement that cannot get
its lock is retried with jittered backoff until the step's budget is spent; the sessions in the way are named
(pid, application_name, state, how long, the start of their query with literals redacted) or, when the operator
asked for it, terminated.

A timed-out statement no longer waits, so PostgreSQL cannot say who blocked it afterwards: a watcher thread on a
second connection samples `pg_blocking_pids` of the step's sessions while they run. pg_restore resets lock_timeout
to 0 (every archive starts with `SET lock_timeout = 0`), so for tools the watcher enforces it: a tool's statement
that has waited for a lock longer than the timeout is cancelled (pg_cancel_backend), and the run counts as timed out.
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from pglast import parser
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from components import runtime_env
from components.lock_settings import LockSettings
from components.providers.base import scalar

T = TypeVar("T")
APP_NAME = "rollback-as-code"
QUERY_CHARS = 80
LITERALS = re.compile(r"\$([A-Za-z_]*)\$.*?\$\1\$|'(?:[^']|'')*'?|\b\d+(?:\.\d+)?\b", re.S)

ACTIVITY = ("SELECT pid, coalesce(application_name, ''), coalesce(state, ''), "
            "extract(epoch FROM now() - coalesce(xact_start, query_start, backend_start))::float8, "
            "coalesce(query, '') FROM pg_stat_activity ")
# Sessions queued for a lock themselves are not the cause (an app query waiting behind the holder, ahead of us).
OWN_WAITING = ("SELECT pid, query_start FROM pg_stat_activity WHERE application_name = %s "
               "AND wait_event_type = 'Lock'")
BLOCKING = ACTIVITY + ("WHERE coalesce(wait_event_type, '') <> 'Lock' AND pid IN (SELECT "
                       "unnest(pg_blocking_pids(a.pid)) FROM pg_stat_activity a WHERE a.application_name = %s) "
                       "ORDER BY pid")
HOLDING = ACTIVITY + ("WHERE pid <> pg_backend_pid() AND (pid IN (SELECT l.pid FROM pg_locks l "
                      "WHERE l.granted AND l.relation = ANY(%s::regclass[])) OR (state LIKE 'idle in transaction%%' "
                      "AND now() - state_change > %s * interval '1 millisecond')) ORDER BY pid")


def redact(query: str) -> str:
    """The start of a query with its literals replaced by placeholders (values may be personal data)."""
    try:
        text = parser.normalize(query)
    except parser.ParseError:  # pg_stat_activity truncates long queries
        text = LITERALS.sub("?", query)
    text = " ".join(text.split())
    return text if len(text) <= QUERY_CHARS else text[:QUERY_CHARS - 1] + "…"


@dataclass(frozen=True)
class Blocker:
    """A session holding (or queued for) a lock a step needs."""

    pid: int
    application_name: str
    state: str
    seconds: float  # age of its transaction (or of its query, outside one)
    query: str  # redacted

    @classmethod
    def of(cls, row: tuple[Any, ...]) -> Blocker:
        """From a pg_stat_activity row of ACTIVITY."""
        return cls(int(row[0]), str(row[1]), str(row[2]), round(float(row[3] or 0), 1), redact(str(row[4])))

    def describe(self) -> str:
        """One clause for a message: pid, application, state and age, query."""
        app = f"'{self.application_name}'" if self.application_name else "no application_name"
        return f"pid {self.pid} ({app}, {self.state or 'unknown state'} for {self.seconds:.0f}s: {self.query})"


def describe_all(blockers: list[Blocker]) -> str:
    """Blockers as one clause."""
    return "; ".join(b.describe() for b in blockers)


def blockers_now(conn: psycopg.Connection, tables: list[str], timeout_ms: int) -> list[Blocker]:
    """Sessions that would block a step now: holding locks on `tables`, or idle in transaction longer than the
    lock timeout (their row locks block any writer)."""
    known = [t for t in tables if scalar(conn.execute("SELECT to_regclass(%s)", (t,))) is not None]
    return [Blocker.of(r) for r in conn.execute(HOLDING, (known, timeout_ms)).fetchall()]


class LockBudgetSpent(RuntimeError):
    """A step could not get its locks within its budget."""


class Guard:
    """One step's lock budget: its connections, the watcher of what blocks them, its retries and what it met."""

    def __init__(self, props: Mapping[str, Any] | None, step: str) -> None:
        settings = LockSettings()
        raw = dict(props or {})
        self.timeout_ms = int(raw.get("timeout_ms", settings.timeout * 1000))
        self.budget_s = float(raw.get("budget_ms", settings.budget * 1000)) / 1000
        self.cancel = bool(raw.get("cancel_blockers", False))
        self.step = step
        self.application_name = f"{APP_NAME} {step} {uuid.uuid4().hex[:6]}"
        self.spent = 0.0
        self.retries = 0
        self.met: dict[int, Blocker] = {}
        self.cancelled: list[Blocker] = []
        self._seen: dict[int, Blocker] = {}
        self._enforce = False
        self._waiting_since: dict[tuple[int, Any], float] = {}
        self.enforced = 0  # statements of a tool the watcher cancelled after lock_timeout
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def conninfo(self, dsn: str | None = None) -> str:
        """dsn (DATABASE_URL by default) with lock_timeout and this step's application_name added."""
        parts = conninfo_to_dict(dsn or runtime_env.database_url())
        options = " ".join(filter(None, [str(parts.get("options") or ""), f"-c lock_timeout={self.timeout_ms}"]))
        return make_conninfo("", **{**parts, "options": options, "application_name": self.application_name})

    def connect(self, dsn: str | None = None, **kwargs: Any) -> psycopg.Connection:
        """A connection of this step (lock_timeout set); starts the blocker watcher on first use."""
        conn = psycopg.connect(self.conninfo(dsn), **kwargs)
        self._watch(dsn)
        return conn

    def libpq_env(self, dsn: str | None = None) -> dict[str, str]:
        """PG* variables for pg_dump/pg_restore: credentials, lock_timeout and this step's application_name."""
        env = runtime_env.libpq_env(dsn)
        env["PGOPTIONS"] = " ".join(filter(None, [env.get("PGOPTIONS", ""), f"-c lock_timeout={self.timeout_ms}"]))
        env["PGAPPNAME"] = self.application_name
        self._enforce = True
        self._watch(dsn)
        return env

    def tool_timed_out(self, err: Exception) -> bool:
        """Whether a tool's failure was a lock wait cut at the timeout: by lock_timeout, by pg_dump's
        --lock-wait-timeout (a statement timeout on its LOCK TABLE) or by the watcher."""
        text = str(err)
        return ("due to lock timeout" in text or ("due to statement timeout" in text and "LOCK TABLE" in text)
                or (self.enforced > 0 and "canceling statement due to user request" in text))

    def run(self, what: str, attempt: Callable[[], T], *, timed_out: Callable[[Exception], bool] | None = None) -> T:
        """attempt(), retried while it fails on a lock timeout and budget is left; then LockBudgetSpent.

        attempt must leave nothing behind when it fails (one transaction, rolled back on error). `timed_out` tells
        a lock timeout from other errors for attempts that do not raise psycopg's (a pg_dump exit).
        """
        is_timeout = timed_out or (lambda err: isinstance(err, psycopg.errors.LockNotAvailable))
        while True:
            started = time.monotonic()
            try:
                return attempt()
            except Exception as err:
                if not is_timeout(err):
                    raise
                blockers = self._take()
                self.met.update({b.pid: b for b in blockers})
                delay = min(max(2 * self.timeout_ms / 1000, 0.2), 0.05 * 2 ** min(self.retries, 8))
                delay *= random.uniform(0.5, 1.5)
                self.spent += time.monotonic() - started
                ended = self._terminate(blockers) if self.cancel and blockers else 0
                if not ended and self.spent + delay > self.budget_s:
                    raise LockBudgetSpent(self._spent_message(what, blockers)) from None
                self.retries += 1
                time.sleep(delay)
                self.spent += delay

    def outputs(self) -> dict[str, Any]:
        """What the step met, for its outputs and the report: retries, seconds spent waiting, blockers, cancelled."""
        return {"lock_retries": self.retries, "lock_wait_seconds": round(self.spent, 2),
                "blockers": [asdict(b) for b in self.met.values()], "cancelled": [asdict(b) for b in self.cancelled]}

    def close(self) -> None:
        """Stop the watcher."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=2)

    def __enter__(self) -> Guard:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _spent_message(self, what: str, blockers: list[Blocker]) -> str:
        who = blockers or list(self.met.values())
        named = (f"blocked by {describe_all(who)}; end them (SELECT pg_terminate_backend(pid)) or wait for them, "
                 "then apply again, or apply with --cancel-blockers to terminate them"
                 if who else "the blocking sessions ended before they could be named; apply again")
        return (f"{what} could not get its locks within the lock budget ({self.budget_s:g}s spent over "
                f"{self.retries + 1} attempts at lock_timeout {self.timeout_ms}ms; rollback:locks): {named}")

    def _terminate(self, blockers: list[Blocker]) -> int:
        """Terminate the blockers (--cancel-blockers); how many ended (a pid never comes back, so this is bounded)."""
        ended = 0
        with psycopg.connect(runtime_env.database_url(), autocommit=True, connect_timeout=5) as conn:
            for b in blockers:
                try:
                    ok = scalar(conn.execute("SELECT pg_terminate_backend(%s)", (b.pid,)))
                except psycopg.Error:  # not allowed to signal it: it stays named, and the budget applies
                    continue
                if ok:
                    self.cancelled.append(b)
                    ended += 1
        return ended

    def _take(self) -> list[Blocker]:
        """The blockers seen since the last take (the watcher samples every few tens of milliseconds)."""
        time.sleep(0.05)  # one more sample, in case the timeout fell between two
        seen, self._seen = self._seen, {}
        return sorted(seen.values(), key=lambda b: b.pid)

    def _cut_long_waits(self, conn: psycopg.Connection) -> None:
        """Cancel a tool's statement that has waited for a lock longer than lock_timeout."""
        now, waiting = time.monotonic(), set()
        for pid, started in conn.execute(OWN_WAITING, (self.application_name,)).fetchall():
            key = (int(pid), started)
            waiting.add(key)
            since = self._waiting_since.setdefault(key, now)
            if now - since >= self.timeout_ms / 1000:
                self.enforced += 1
                conn.execute("SELECT pg_cancel_backend(%s)", (pid,))
        self._waiting_since = {k: v for k, v in self._waiting_since.items() if k in waiting}

    def _watch(self, dsn: str | None) -> None:
        if self._watcher is not None:
            return
        info = make_conninfo(dsn or runtime_env.database_url(), application_name=f"{APP_NAME} lock watch")
        interval = min(0.1, self.timeout_ms / 4000)

        def loop() -> None:
            try:
                with psycopg.connect(info, autocommit=True, connect_timeout=5) as conn:
                    while not self._stop.wait(interval):
                        for row in conn.execute(BLOCKING, (self.application_name,)).fetchall():
                            self._seen[int(row[0])] = Blocker.of(row)
                        if self._enforce:
                            self._cut_long_waits(conn)
            except psycopg.Error:
                pass  # without a watcher the budget still holds; only the names are missing

        self._watcher = threading.Thread(target=loop, name=f"lock-watch {self.step}", daemon=True)
        self._watcher.start()
