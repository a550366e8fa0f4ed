"""Scenario 7, the generated way back of an up-only history vs psql: planning back over 25 migrations of a
300-migration Supabase history (tests/corpus/generate.py `uponly_set`) with `way_back.generate`, first with no
cached shadow database (it replays the ups to N once), then again to the same N (shadow cached); the baseline is
one `psql` session replaying the ups to N into a fresh database (the floor: the shadow must be built once)."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench.common import Row, loadavg, median, parser, pg_env, private_sandbox, report, run, runs_of, timed

FIRST_GOAL = 1.5  # × the psql replay of the ups to N
SECOND_GOAL_S = 2.0
SCENARIO = "7 up-only way back"
LIVE, REPLAY = "bench_uponly_live", "bench_uponly_replay"


class Clock:
    """Exclusive wall time per labelled function: a wrapped call's time goes to its label, less the time of the
    wrapped calls inside it (which go to theirs); inclusive times too. Wrapping is by module attribute, so only
    calls made through the attribute (as the product's are) are counted."""

    def __init__(self) -> None:
        self.exclusive: dict[str, float] = defaultdict(float)
        self.inclusive: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._stack: list[list[Any]] = []

    def wrap(self, owner: Any, attr: str, label: str) -> None:
        """Replace owner.attr by a timed version charging `label`."""
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            now = time.perf_counter()
            if self._stack:
                self.exclusive[self._stack[-1][0]] += now - self._stack[-1][1]
            self._stack.append([label, now, now])
            try:
                return fn(*args, **kwargs)
            finally:
                end = time.perf_counter()
                _, resumed, began = self._stack.pop()
                self.exclusive[label] += end - resumed
                self.inclusive[label] += end - began
                self.calls[label] += 1
                if self._stack:
                    self._stack[-1][1] = end

        setattr(owner, attr, timed_call)

    def take(self) -> tuple[dict[str, float], dict[str, float]]:
        """(exclusive, inclusive) seconds per label since the last take, and reset."""
        out = dict(self.exclusive), dict(self.inclusive)
        self.exclusive.clear()
        self.inclusive.clear()
        return out


# What each part of the first plan is (labels of the breakdown, in the order of the work).
PARTS = {
    "generate": "other (live reads, renames, enum checks, connections)",
    "parse": "pglast parse of every up (platform schemas, publications)",
    "create": "CREATE DATABASE (shadow + scratch copy)",
    "ensure": "shadow: connect, bookkeeping, rename",
    "replay": "shadow: replay of the ups to N",
    "snapshot": "catalog snapshots",
    "copy": "copy of live's schema (pg_dump | psql)",
    "diff": "pg-schema-diff plan",
    "prove": "proof: the statements run on the copy",
    "drop": "DROP DATABASE (scratch copy)",
}


def instrument() -> Clock:
    """Time the parts of way_back.generate (exclusive time: no part counted twice)."""
    from components.providers import way_back
    from components.providers.wayback import catalog, schema_diff, shadow
    from components.providers.wayback import plan as wb_plan

    clock = Clock()
    clock.wrap(way_back, "generate", "generate")
    clock.wrap(way_back, "platform_schemas", "parse")
    clock.wrap(way_back, "platform_publications", "parse")
    clock.wrap(way_back, "replay", "replay")
    clock.wrap(shadow, "ensure", "ensure")
    clock.wrap(shadow, "_create", "create")
    clock.wrap(shadow, "drop", "drop")
    clock.wrap(shadow, "copy_schema", "copy")
    clock.wrap(schema_diff, "plan", "diff")
    clock.wrap(wb_plan, "_prove", "prove")
    clock.wrap(catalog, "snapshot", "snapshot")
    return clock


def recreate(admin_dsn: str, name: str) -> None:
    """Drop and create database name (untimed reset)."""
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_shadows(admin_dsn: str) -> int:
    """Drop every cached shadow (and any leftover scratch copy): the next plan builds its shadow again."""
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'rollback\\_shadow\\_%' "
            "OR datname LIKE 'rollback\\_wayback\\_%'").fetchall()]
        for name in names:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    return len(names)


def psql(bindir: str, dsn: str, paths: list[Path]) -> None:
    """One psql session running the files in order, stopping at the first error."""
    argv = [f"{bindir}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    for p in paths:
        argv += ["-f", str(p)]
    run(argv, env=pg_env(dsn))


def bookkeeping(dsn: str, fmt: Any, listing: Any, files: dict[str, str], head: int) -> None:
    """Live's supabase_migrations.schema_migrations as the CLI leaves it at head."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for ddl in fmt.ensure():
            conn.execute(ddl)
        for stmt, params in fmt.moved(listing, files, None, head):
            conn.execute(stmt, params)


def main(argv: list[str] | None = None) -> int:
    """Measure and report."""
    p = parser(__doc__ or "")
    p.add_argument("--migrations", type=int, default=300, help="migrations in the history (head = the last)")
    p.add_argument("--back", type=int, default=25, help="migrations to plan back over (N = head - back)")
    args = p.parse_args(argv)
    started, runs, load_before = time.perf_counter(), runs_of(args), loadavg()
    n, back = (30, 5) if args.smoke else (args.migrations, args.back)
    # imported before timing (start-up is scenario 3's business)
    import psycopg

    from components.providers import locks, way_back
    from components.target import migration_files
    from rollback_stacks import formats
    from tests.corpus.generate import uponly_set

    clock = instrument()
    s: dict[str, list[float]] = {"baseline": [], "first": [], "second": []}
    parts: dict[str, list[dict[str, float]]] = {"first": [], "second": []}
    shadow_inclusive: list[float] = []
    results: list[dict[str, Any]] = []
    with private_sandbox("uponly") as sb, tempfile.TemporaryDirectory(prefix="rollback-bench-uponly-") as tmp:
        mdir = Path(tmp) / "supabase" / "migrations"
        versions = uponly_set(mdir, n)
        fmt = formats.get("supabase")
        files = migration_files(mdir, "supabase")
        listing = fmt.listing(files)
        head, target = versions[-1], versions[-1 - back]
        ups = [mdir / m.up for m in listing.migrations]
        base = sb.database_url.rsplit("/", 1)[0]
        admin, live, replay_dsn = f"{base}/postgres", f"{base}/{LIVE}", f"{base}/{REPLAY}"
        bindir = str(sb.pg["bindir"])
        os.environ.pop("SHADOW_DATABASE_URL", None)  # shadows on live's own server, as without a shadow server
        os.environ.update(DATABASE_URL=live, PG_BINDIR=bindir)  # the provider reads both from the environment
        recreate(admin, LIVE)
        psql(bindir, live, ups)  # live at head, as the CLI leaves it
        bookkeeping(live, fmt, listing, files, head)
        guard = locks.Guard(None, "plan")

        def plan() -> None:
            with psycopg.connect(guard.conninfo(), connect_timeout=5) as conn:  # as schema.describe opens it
                results.append(way_back.generate(conn, guard, fmt, listing, files, None, head, target))

        def first() -> None:
            clock.take()
            drop_shadows(admin)

        for _ in range(runs):  # alternated, so drift in the machine's load hits all three alike
            recreate(admin, REPLAY)
            s["baseline"].append(timed(lambda: psql(bindir, replay_dsn, ups[:n - back])))
            first()
            s["first"].append(timed(plan))
            exclusive, inclusive = clock.take()
            parts["first"].append(exclusive)
            shadow_inclusive.append(inclusive.get("ensure", 0.0))
            s["second"].append(timed(plan))
            parts["second"].append(clock.take()[0])
        drop_shadows(admin)
        pg_version = run([f"{bindir}/psql", "-X", "-At", "-c", "SHOW server_version"], env=pg_env(admin)).stdout.strip()
    for result in results:
        assert not result.get("refused"), result.get("refused")  # to_json() carries "refused": None when planned
        assert result.get("statements"), "an empty way back: live and the target do not differ"
    statements = results[-1]["statements"]
    hazards = Counter(h["kind"] for st in statements for h in st["hazards"])
    shape = {"statements": len(statements), "hazards": sum(hazards.values()), "hazards_by_kind": dict(hazards),
             "notes": results[-1].get("notes") or []}
    way = [" ".join(st["sql"].split())[:160] for st in statements]
    same = all(r["statements"] == statements for r in results)

    def breakdown(which: str) -> dict[str, float]:
        return {PARTS[k]: median([run_parts.get(k, 0.0) for run_parts in parts[which]]) for k in PARTS}

    b, first_s, second_s = median(s["baseline"]), median(s["first"]), median(s["second"])
    shadow_s = median(shadow_inclusive)
    label = f"{n - back}/{n} migrations"
    base_label = f"psql -X -v ON_ERROR_STOP=1 -f … (the {n - back} ups to N, one session, fresh database)"
    rows = [
        Row(SCENARIO, f"first plan, back {back} of {n} (builds the shadow)", first_s, b, runs, f"≤ {FIRST_GOAL}×",
            first_s / b <= FIRST_GOAL, baseline=base_label, samples={"ours": s["first"], "baseline": s["baseline"]},
            extra={**shape, "breakdown_median_s": breakdown("first"), "way_back": way}),
        Row(SCENARIO, f"of which shadow build, {label} (CREATE DATABASE + replay)", shadow_s, b, runs, "—", None,
            baseline=base_label, samples={"ours": shadow_inclusive, "baseline": s["baseline"]}),
        Row(SCENARIO, f"second plan, same N (shadow cached), {n} migrations", second_s, None, runs,
            f"≤ {SECOND_GOAL_S:g} s", second_s <= SECOND_GOAL_S, samples={"ours": s["second"]},
            extra={**shape, "breakdown_median_s": breakdown("second")}),
    ]
    notes = [f"uponly_set({n}): tables with a foreign key, an index and 20 seed rows, added columns with defaults, "
             "backfills, enums and ADD VALUE, views, column renames, plpgsql triggers, CHECKs, RLS policies, FK "
             f"columns; live replayed to head ({head}), the way back planned to N = {target} ({back} back)",
             "ours = way_back.generate in-process (what `rollback plan` runs for the generated step): parse the "
             "history, build or reuse the shadow at N, copy live's schema to a scratch database, undo renames, "
             "recreate shrunk enums, pg-schema-diff, run every statement on the copy and compare it with the "
             "target; the first plan starts with no cached shadow (every rollback_shadow_* dropped, untimed)",
             "baseline = one psql session replaying the ups to N into a database created just before (untimed); "
             "the shadow build also pays its CREATE DATABASE",
             f"the way back: {shape['statements']} statements, {shape['hazards']} hazards "
             f"({', '.join(f'{k} {v}' for k, v in sorted(hazards.items()))}); identical in every run: {same}",
             "breakdown = exclusive time of each part, median over runs: "
             + "; ".join(f"{k} {v:.3f} s" for k, v in breakdown("first").items()),
             "second plan breakdown: " + "; ".join(f"{k} {v:.3f} s" for k, v in breakdown("second").items())]
    report("uponly", rows, args.out, smoke=args.smoke,
           params={"runs": runs, "migrations": n, "back": back, "head": head, "target": target,
                   "postgres": pg_version, "load_before": load_before}, started=started, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
