"""Scenario 6, the app under live traffic: 4 clients run the stack's steady load (rollback_stacks/local/traffic.sql,
reads and writes both v1.4.2 and v1.5.0 make) on the 1 GiB database of scenario 1, while the app is idle and then
during `rollback apply local --to last-good` and the release back to v1.5.0, in one run. Compared: the harness p99
latency during the rollout vs idle, its errors, and its longest single statement (an upper bound of any lock
wait the rollout made the app wait)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.common import REPO, Row, median, parser, private_sandbox, report, runs_of
from bench.e2e import Rig
from sandbox.traffic import Traffic, TrafficResult, load_queries, percentile

SCENARIO = "6 live traffic"
P99_GOAL = 2.0  # p99 during the rollout at most twice the idle p99
LOCK_TIMEOUT = 1.0  # the product's default lock_timeout per statement (rollback:locks.timeout)
QUERIES = REPO / "rollback_stacks" / "local" / "traffic.sql"


def cycle(rig: Rig, traffic: Traffic, idle_s: float, nice: int, project: Path | None = None
          ) -> dict[str, tuple[float, float]]:
    """Idle for idle_s, roll back to last-good, release v1.5.0 again (from project's records and settings, else
    this repository's); the monotonic window of each phase."""
    phases: dict[str, tuple[float, float]] = {}
    t = time.monotonic()
    time.sleep(idle_s)
    phases["idle"] = (t, time.monotonic())
    for phase, target in (("rollback", "last-good"), ("release", "v1.5.0")):
        t = time.monotonic()
        rig.cli("apply", "local", "--to", target, "--yes", "--reason", f"bench: {phase} under live traffic", nice=nice,
                project=project)
        phases[phase] = (t, time.monotonic())
    if (rig.schema_version(), rig.alias_target()) != (5, "dpl_v150"):
        raise RuntimeError(f"the round trip did not end on v1.5.0: {(rig.schema_version(), rig.alias_target())}")
    return phases


def slowest(result: TrafficResult, queries: list[str]) -> str:
    """The slowest statement of a result, abridged, with its latency."""
    rec = max(result.records, key=lambda r: r.end - r.start, default=None)
    if rec is None:
        return "none"
    text = " ".join((queries[rec.query] if rec.query >= 0 else "(reconnect)").split())
    return f"{rec.end - rec.start:.3f} s: {text[:100]}"


def by_statement(idle: list[TrafficResult], during: list[TrafficResult], queries: list[str]) -> list[dict[str, object]]:
    """p99 of each statement, idle vs during the rollout: the same rise everywhere is CPU, one statement's is a lock."""
    def p99(results: list[TrafficResult], q: int) -> float:
        return round(percentile([r.end - r.start for res in results for r in res.records if r.query == q], 0.99), 4)
    return [{"statement": " ".join(text.split())[:80], "idle_p99_s": p99(idle, q), "rollout_p99_s": p99(during, q)}
            for q, text in enumerate(queries)]


# each series: its label, the niceness of the rollout's processes, and whether the stack protects the rollout with
# kept values (rollback:snapshot kept) instead of the whole-database dump
SERIES = (("on the db host", 0, False), ("separate runner", 19, False), ("kept values, on the db host", 0, True))


def placement_rows(result: TrafficResult, windows: list[dict[str, tuple[float, float]]], label: str, size: str,
                   queries: list[str], runs: int, idle_s: float) -> list[Row]:
    """The three rows of one placement of the rollout: p99 ratio, longest statement, longest gap."""
    idle = [result.window(*w["idle"]) for w in windows]
    during = [result.window(w["rollback"][0], w["release"][1]) for w in windows]
    p99_idle, p99_during = median([r.p99 for r in idle]), median([r.p99 for r in during])
    longest = max(r.max_latency for r in during)
    gap = max(r.longest_gap for r in during)
    errors = sum(n for r in during for _, n in r.errors)
    statements = sum(len(r.records) for r in during)
    phase_figures = [{k: result.window(*v).summary() for k, v in w.items()} for w in windows]
    return [Row(SCENARIO, f"harness p99, rollback + release vs idle, {size}, {label}", p99_during, p99_idle, runs,
                f"≤ {P99_GOAL:g}×", p99_during <= P99_GOAL * p99_idle if p99_idle else None,
                baseline=f"harness p99 on the idle app ({idle_s:g} s)",
                samples={"ours": [r.p99 for r in during], "baseline": [r.p99 for r in idle]},
                extra={"phases": phase_figures, "errors": [list(e) for r in during for e in r.errors],
                       "p99_by_statement": by_statement(idle, during, queries)}),
            Row(SCENARIO, f"longest statement, {label} ({errors} errors in {statements})", longest,
                None, runs, f"≤ {LOCK_TIMEOUT:g} s, 0 errors", longest <= LOCK_TIMEOUT and errors == 0,
                samples={"ours": [r.max_latency for r in during]},
                extra={"slowest": [slowest(r, queries) for r in during]}),
            Row(SCENARIO, f"longest stretch without a completed statement, {label}", gap, None, runs,
                f"≤ {LOCK_TIMEOUT + 1:g} s", gap <= LOCK_TIMEOUT + 1,
                samples={"ours": [r.longest_gap for r in during]})]


def main(argv: list[str] | None = None) -> int:
    """Measure and report."""
    p = parser(__doc__ or "")
    p.add_argument("--db-mb", type=int, default=1024, help="bulk data to add to the app database (MB, with indexes)")
    p.add_argument("--idle-seconds", type=float, default=10.0, help="traffic on the idle app before each rollout")
    p.add_argument("--clients", type=int, default=4, help="harness clients (threads, one connection each)")
    p.add_argument("--pause", type=float, default=0.002, help="each client's pause between statements (s)")
    p.add_argument("--without-kept", action="store_true", help="leave out the rollback:snapshot kept series "
                   "(always left out by --smoke)")
    args = p.parse_args(argv)
    series = [s for s in SERIES if not (s[2] and (args.smoke or args.without_kept))]
    started, runs = time.perf_counter(), runs_of(args, default=1)
    mb, idle_s = (2, 1.0) if args.smoke else (args.db_mb, args.idle_seconds)
    queries = load_queries(QUERIES)
    with private_sandbox("traffic") as sb, tempfile.TemporaryDirectory(prefix="rollback-bench-traffic-") as tmp:
        rig = Rig(sb, Path(tmp))
        facts = rig.prepare(mb)
        with Traffic(rig.dsn, queries, clients=args.clients, pause=args.pause) as traffic:
            windows = {label: [cycle(rig, traffic, idle_s, nice, rig.kept_project() if kept else None)
                               for _ in range(runs)] for label, nice, kept in series}
            result = traffic.stop()
    rows: list[Row] = []
    for label, _, _ in series:
        rows += placement_rows(result, windows[label], label, f"{facts['database_bytes'] / 2**20:.0f} MiB db",
                               queries, runs, idle_s)
    rises = [s["rollout_p99_s"] / s["idle_p99_s"] for s in rows[0].extra["p99_by_statement"] if s["idle_p99_s"]]
    notes = [f"harness: {args.clients} clients, one autocommit connection each, {len(queries)} statements round "
             f"robin, {args.pause * 1000:g} ms pause; {result.completed} statements completed in the whole run "
             f"({result.stopped - result.started:.0f} s), {sum(n for _, n in result.errors)} failed",
             "windows: idle = traffic only; rollout = from just before `rollback apply --to last-good` to the end "
             "of `rollback apply --to v1.5.0`; a statement counts in a window when it overlaps it",
             "on the db host: the rollout's processes (engine, providers, pg_dump) share the 2 cores with the "
             "harness and PostgreSQL, so the p99 ratio also measures CPU contention, not only lock waits; the "
             "longest statement bounds those",
             "separate runner: the same rollout under `nice -n 19`, standing in for a CI runner that is not the "
             "database host (production); the database's own work for the rollout (COPY for the snapshot, DDL, "
             "restore) still runs at normal priority",
             "kept values, on the db host: the stack set to rollback:snapshot kept (no whole-database dump; the "
             "rollback keeps what its down files destroy, the release puts it back), as the first series otherwise",
             f"p99 by statement on the db host, rollout / idle: {min(rises, default=0):.1f}× to "
             f"{max(rises, default=0):.1f}× (the same rise on every statement, those on tables no step locks "
             "included, is CPU; a lock wait shows as one statement far above the rest and as the longest statement)"]
    report("traffic", rows, args.out, smoke=args.smoke,
           params={"runs": runs, "db_mb": mb, "idle_s": idle_s, "clients": args.clients, "pause_s": args.pause,
                   **facts}, started=started, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
