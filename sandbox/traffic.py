"""Live traffic for rollout tests and benchmarks: a few clients looping over SQL statements, each statement timed.

Generic: the statements come from the caller (e.g. `load_queries` of a stack's .sql file), never from here.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import psycopg
from pglast import parser as pg_parser

APPLICATION_NAME = "rollback-traffic"
STATEMENT_TIMEOUT_S = 30.0
RECONNECT_PAUSE_S = 0.1


@dataclass(frozen=True)
class Record:
    """One statement (its index in the queries; -1 a failed reconnect) of one client: monotonic start, end, error."""

    client: int
    start: float
    end: float
    error: str | None = None
    query: int = 0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank q-quantile (0 < q <= 1) of values; 0.0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def longest_gap(ends: Sequence[float], started: float, stopped: float) -> float:
    """Longest stretch of [started, stopped] without a point of ends in it (both edges count)."""
    points = [started, *sorted(e for e in ends if started <= e <= stopped), stopped]
    return max(b - a for a, b in zip(points, points[1:], strict=False))


@dataclass
class TrafficResult:
    """What the clients saw from started to stopped (time.monotonic seconds); latencies in seconds."""

    started: float
    stopped: float
    records: list[Record] = field(repr=False)
    completed: int = 0
    errors: list[tuple[str, int]] = field(default_factory=list)
    p50: float = 0.0
    p99: float = 0.0
    max_latency: float = 0.0
    longest_gap: float = 0.0

    @classmethod
    def of(cls, records: Sequence[Record], started: float, stopped: float) -> TrafficResult:
        """Figures over [started, stopped]: latencies of statements ok or failed (no reconnect), gaps between oks."""
        latencies = [r.end - r.start for r in records if r.query >= 0]
        ok_ends = [r.end for r in records if r.error is None]
        return cls(started, stopped, list(records), completed=len(ok_ends),
                   errors=Counter(r.error for r in records if r.error is not None).most_common(),
                   p50=percentile(latencies, 0.50), p99=percentile(latencies, 0.99),
                   max_latency=max(latencies, default=0.0), longest_gap=longest_gap(ok_ends, started, stopped))

    def window(self, start: float, end: float) -> TrafficResult:
        """The figures of the statements that overlapped [start, end] (e.g. while a rollout ran)."""
        return TrafficResult.of([r for r in self.records if r.start <= end and r.end >= start], start, end)

    def p99_between(self, start: float, end: float) -> float:
        """p99 latency of the statements that overlapped [start, end]."""
        return self.window(start, end).p99

    def summary(self) -> dict[str, object]:
        """The figures as a JSON-able dict (without the records)."""
        return {"seconds": round(self.stopped - self.started, 3), "completed": self.completed,
                "errors": [list(e) for e in self.errors], "p50_s": round(self.p50, 4), "p99_s": round(self.p99, 4),
                "max_s": round(self.max_latency, 4), "longest_gap_s": round(self.longest_gap, 4)}


def load_queries(path: Path | str) -> list[str]:
    """The statements of a .sql file (`;`-separated, comments dropped), checked by PostgreSQL's parser."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        queries = [q.strip() for q in pg_parser.split(text) if q.strip()]
    except pg_parser.ParseError as err:
        raise ValueError(f"{path}: not valid SQL: {err}") from err
    if not queries:
        raise ValueError(f"{path}: no SQL statement")
    return queries


class Traffic:
    """`clients` threads, each on its own autocommit connection, running `queries` round robin until stopped."""

    def __init__(self, dsn: str, queries: Sequence[str], clients: int = 4, pause: float = 0.0,
                 statement_timeout: float = STATEMENT_TIMEOUT_S) -> None:
        if not queries or clients < 1:
            raise ValueError("Traffic needs at least one query and one client")
        self.dsn, self.queries, self.clients, self.pause = dsn, list(queries), clients, pause
        self.statement_timeout = statement_timeout
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._records: list[list[Record]] = []
        self._started = 0.0
        self.result: TrafficResult | None = None  # set by stop()

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn, autocommit=True, connect_timeout=5, application_name=APPLICATION_NAME,
                               options=f"-c statement_timeout={round(self.statement_timeout * 1000)}")

    def start(self) -> Traffic:
        """Open every client's connection (a bad DSN raises here), then start the clients."""
        if self._threads:
            raise RuntimeError("Traffic already started")
        conns: list[psycopg.Connection] = []
        try:
            for _ in range(self.clients):
                conns.append(self._connect())
        except BaseException:
            for c in conns:
                c.close()
            raise
        self._records = [[] for _ in conns]
        self._started = time.monotonic()
        self._threads = [threading.Thread(target=self._run, args=(n, conn), name=f"traffic-{n}", daemon=True)
                         for n, conn in enumerate(conns)]
        for t in self._threads:
            t.start()
        return self

    def _run(self, n: int, conn: psycopg.Connection | None) -> None:
        out, i = self._records[n], n  # clients start at different statements
        while not self._stop.is_set():
            if conn is None or conn.closed:
                start = time.monotonic()
                try:
                    conn = self._connect()
                except psycopg.Error as err:
                    out.append(Record(n, start, time.monotonic(), _message(err), -1))
                    self._stop.wait(RECONNECT_PAUSE_S)
                    continue
            q, i = i % len(self.queries), i + 1
            start = time.monotonic()
            try:
                cur = conn.execute(self.queries[q])  # data without parameters: psycopg sends it as is
                if cur.description:
                    cur.fetchall()
                out.append(Record(n, start, time.monotonic(), query=q))
            except psycopg.Error as err:
                out.append(Record(n, start, time.monotonic(), _message(err), q))
                if conn.broken or conn.closed:
                    conn.close()
                    conn = None
            if self.pause:
                self._stop.wait(self.pause)
        if conn is not None:
            conn.close()

    def stop(self) -> TrafficResult:
        """Stop the clients (each finishes its statement in flight) and return what they saw."""
        stopped = time.monotonic()
        self._stop.set()
        for t in self._threads:
            t.join(self.statement_timeout + 10)
        records = sorted((r for rs in self._records for r in rs), key=lambda r: r.start)
        self.result = TrafficResult.of(records, self._started, stopped)
        return self.result

    def __enter__(self) -> Traffic:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if not self._stop.is_set():
            self.stop()


def _message(err: Exception) -> str:
    """An error's class and first line (the distinct message: no detail, no pids)."""
    first = (str(err).strip().splitlines() or [""])[0]
    return f"{type(err).__name__}: {first}"
