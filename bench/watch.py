"""Scenario 8, the watch window: memory of a long watch stays bounded (issue 31).

Each size runs in a fresh process: `Watch._loop` with a clock that never sleeps, over N samples of the checks, every
sample streamed to samples.jsonl as `rollback watch` does, after an untraced warm-up watch of 3 000 samples.
Measured: what the loop leaves allocated (tracemalloc after a garbage collection, less the interpreter's
interned-name table, which pathlib's lock-file paths touch: CPython reallocates it at a constant size as mortal
names come and go, so its block shows up in some runs and not others), the peak of traced allocations, and the
process's peak RSS (VmHWM), at N, 10 N and 50 N. The goal: what stays allocated does not grow with N (at most 1.5x
from the smallest size to the largest). The baseline keeps every sample in a list, as a watch without running
aggregates would. `synthetic`: 9 checks as the example stack's version has (a rate among them), values from a
generator (the watch's own structures only); `sql`: 3 real SQL checks against a private sandbox's PostgreSQL, a
connection per check per sample as the gate's own check functions open (with --smoke: skipped).
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Row, median, parser, python, report, runs_of

GOAL_GROWTH = 1.5
WARM_UP = 3_000  # samples of an untraced watch first, in the same process
SYNTHETIC = {"watch": [{"name": f"check_{i}", "sql": "SELECT 1", "max": 1e12} for i in range(8)]
             + [{"name": "dlq_growth", "sql": "SELECT 1", "measure": "rate", "max": 1e12}]}
SQL = {"watch": [{"name": "backends", "sql": "SELECT count(*) FROM pg_stat_activity", "max": 1e6},
                 {"name": "relations", "sql": "SELECT count(*) FROM pg_class", "max": 1e9},
                 {"name": "commit_rate", "sql": "SELECT sum(xact_commit) FROM pg_stat_database", "measure": "rate",
                  "max": 1e12}]}


def _vm(field: str) -> int:
    """A /proc/self/status field in KiB."""
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1])


def child(kind: str, samples: int, keep_all: bool) -> dict[str, Any]:
    """One watch of `samples` samples in this process: its peaks and wall time."""
    import pathlib
    import tracemalloc

    import rollback.redact
    from rollback.watch import Watch, _Stop, interruption
    from rollback_stacks import load
    from rollback_stacks.model import HealthChecks
    from rollback_stacks.watch_settings import WatchSettings

    interruption("file:///nonexistent", "local", None)  # its imports, before the loop's memory is traced
    rollback.redact.Redactor(env={})
    record = load("local")
    health = HealthChecks.model_validate(SYNTHETIC if kind == "synthetic" else SQL)
    version = record.find("v1.5.0").model_copy(update={"health": health})
    now = [0.0]
    counter = [0]
    kept: list[Any] = []

    def fake(_probe: Any) -> tuple[float | None, bool | None, str]:
        counter[0] += 1
        return float(counter[0] % 1000), None, "synthetic"

    def on_sample(n: int, t: float, readings: list[Any]) -> None:
        if keep_all:  # the baseline: every sample held in memory
            kept.append({s.probe.name: (r.value, r.measured, r.state, r.detail) for s, r in readings})

    def watch_once(n: int, traced: bool) -> tuple[Any, float, int, int, int]:
        with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
            folder = Path(tmp)
            watch = Watch(record, WatchSettings(window=float(n - 1), interval=1.0), folder, env={},
                          clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s),
                          sampler=fake if kind == "synthetic" else None, on_sample=on_sample)
            with (folder / "samples.jsonl").open("w") as out:
                if traced:
                    tracemalloc.start()
                start = time.perf_counter()
                result = watch._loop(version, {}, "file:///nonexistent", None, _Stop(), out, folder)
                took = time.perf_counter() - start
                current, peak = tracemalloc.get_traced_memory() if traced else (0, 0)
                if traced:  # what stays allocated, less the interpreter's interned-name table (see the docstring)
                    gc.collect()  # closed connections are cyclic garbage until a collection: not kept, only late
                    snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, pathlib.__file__)])
                    current = sum(stat.size for stat in snap.statistics("filename"))
                tracemalloc.stop()
            return result, took, current, peak, (folder / "samples.jsonl").stat().st_size

    watch_once(WARM_UP, False)  # one-off growth of the interpreter's own tables (interned names) happens here
    kept.clear()
    result, took, current, peak, size = watch_once(samples, True)
    assert result.samples == samples and result.outcome == "passed", (result.outcome, result.reason)
    return {"samples": samples, "seconds": took, "traced_peak_kib": peak / 1024,
            "traced_retained_kib": current / 1024, "vm_hwm_kib": _vm("VmHWM"), "samples_jsonl_kib": size / 1024}


def series(kind: str, steps: list[int]) -> list[tuple[int, float]]:
    """What stays allocated (KiB) after each of several watches run one after another in one traced process:
    whether it levels off (caches filling) or keeps growing (a leak)."""
    import pathlib
    import tracemalloc

    from rollback.watch import Watch, _Stop
    from rollback_stacks import load
    from rollback_stacks.model import HealthChecks
    from rollback_stacks.watch_settings import WatchSettings

    record = load("local")
    version = record.find("v1.5.0").model_copy(update={"health": HealthChecks.model_validate(
        SYNTHETIC if kind == "synthetic" else SQL)})
    now = [0.0]

    def once(n: int) -> None:
        with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
            folder = Path(tmp)
            watch = Watch(record, WatchSettings(window=float(n - 1), interval=1.0), folder, env={},
                          clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s),
                          sampler=(lambda _p: (1.0, None, "synthetic")) if kind == "synthetic" else None)
            with (folder / "samples.jsonl").open("w") as out:
                watch._loop(version, {}, "file:///nonexistent", None, _Stop(), out, folder)

    once(300)
    tracemalloc.start()
    out, total = [], 0
    for n in steps:
        once(n)
        total += n
        gc.collect()
        snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, pathlib.__file__)])
        out.append((total, round(sum(st.size for st in snap.statistics("filename")) / 1024, 1)))
    return out


def measure(kind: str, samples: int, keep_all: bool, env: dict[str, str] | None = None) -> dict[str, Any]:
    """child() in a fresh interpreter."""
    proc = subprocess.run([python(), "-m", "bench.watch", "--child", kind, str(samples), str(int(keep_all))],
                          capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def rows_for(kind: str, sizes: list[int], runs: int, env: dict[str, str] | None = None) -> list[Row]:
    """One row per size: ours (aggregates) vs the baseline (every sample kept), medians of runs."""
    rows: list[Row] = []
    first: float | None = None
    for n in sizes:
        ours = [measure(kind, n, False, env) for _ in range(runs)]
        base = [measure(kind, n, True, env) for _ in range(runs)]
        peak = median([o["traced_retained_kib"] for o in ours])
        first = first or peak
        growth = peak / first
        base_peak = median([b["traced_retained_kib"] for b in base])
        rss, base_rss = (median([x["vm_hwm_kib"] for x in xs]) / 1024 for xs in (ours, base))
        case = (f"{kind}: {n:,} samples, retained {peak:,.0f} KiB (baseline {base_peak:,.0f} KiB), "
                f"peak RSS {rss:.1f} MiB (baseline {base_rss:.1f} MiB), growth {growth:.2f}×")
        rows.append(Row("8 watch", case, median([o["seconds"] for o in ours]), median([b["seconds"] for b in base]),
                        runs, f"retained ≤ {GOAL_GROWTH}× the smallest size's", growth <= GOAL_GROWTH,
                        baseline="every sample kept in memory",
                        samples={"ours_s": [o["seconds"] for o in ours], "baseline_s": [b["seconds"] for b in base]},
                        extra={"ours": ours, "baseline": base, "growth": round(growth, 3),
                               "per_sample_ms": round(median([o["seconds"] for o in ours]) / n * 1000, 4)}))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Measure and report."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(child(argv[1], int(argv[2]), argv[3] == "1")))
        return 0
    if argv[:1] == ["--series"]:
        print(json.dumps(series(argv[1], [int(x) for x in argv[2].split(",")])))
        return 0
    args = parser(__doc__ or "").parse_args(argv)
    started, runs = time.perf_counter(), runs_of(args, 3)
    sizes = [200, 2_000] if args.smoke else [1_000, 10_000, 50_000]
    rows = rows_for("synthetic", sizes, runs)
    notes = ["ours_s / baseline_s: wall time of the whole loop (no sleeping); the memory is in the case text",
             "retained: traced allocations left at the end of the loop (less the interpreter's interned-name table)"]
    if not args.smoke:
        import os

        from bench.common import private_sandbox

        with private_sandbox("watch") as sb:
            env = {**os.environ, **sb.env()}
            rows += rows_for("sql", [300, 3_000], 1, env)
            proc = subprocess.run([python(), "-m", "bench.watch", "--series", "sql", "500,500,1000,2000,2000"],
                                  capture_output=True, text=True, check=True, env=env)
            steps = json.loads(proc.stdout.strip().splitlines()[-1])
            notes.append("sql, one process, watches one after another: retained after " + ", ".join(
                f"{n:,} samples {kib:g} KiB" for n, kib in steps))
    report("watch", rows, args.out, smoke=args.smoke, params={"runs": runs, "sizes": sizes}, started=started,
           notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
