"""Shared benchmark helpers: timing, medians, machine facts, result JSON, tables, a private sandbox."""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"


@dataclass
class Row:
    """One compared measurement: ours vs the baseline, both medians of `runs` runs (seconds)."""

    scenario: str
    case: str
    ours_s: float
    baseline_s: float | None
    runs: int
    goal: str
    met: bool | None
    ratio: float | None = None
    baseline: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ratio is None and self.baseline_s:
            self.ratio = round(self.ours_s / self.baseline_s, 3)


def median(samples: list[float]) -> float:
    """Median of samples, rounded to the millisecond."""
    return round(statistics.median(samples), 4)


def timed(fn: Callable[[], Any]) -> float:
    """Wall-clock seconds of one call, started without the previous sample's garbage (as a fresh CLI process is)."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def repeat(fn: Callable[[], Any], runs: int, *, setup: Callable[[], Any] | None = None) -> list[float]:
    """Seconds of `runs` calls of fn, each after an untimed setup()."""
    out = []
    for _ in range(runs):
        if setup is not None:
            setup()
        out.append(timed(fn))
    return out


def run(argv: list[str], *, env: dict[str, str] | None = None, check: bool = True,
        stdin: Any = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing output; a failure raises with its stderr tail."""
    proc = subprocess.run(argv, env=env, stdin=stdin, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])}… exited {proc.returncode}: {proc.stderr.strip()[-1500:]}")
    return proc


def loadavg() -> list[float]:
    """The 1/5/15-minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    """Facts about this machine and toolchain for the results file."""
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    except OSError:
        pass
    mem_kb = 0
    try:
        mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal")))
    except (OSError, StopIteration, ValueError):
        pass
    return {"nproc": os.cpu_count(), "cpu_model": cpu, "mem_gib": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "platform": platform.platform(), "loadavg": loadavg()}


def parser(description: str) -> argparse.ArgumentParser:
    """The common command line of a benchmark script: --smoke, --runs, --out."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--smoke", action="store_true", help="tiny sizes, 1 run: checks the script works (for tests)")
    p.add_argument("--runs", type=int, default=None, help="runs per measurement (default 5; 1 with --smoke)")
    p.add_argument("--out", type=Path, default=RESULTS, help="directory for the result JSON")
    return p


def runs_of(args: argparse.Namespace, default: int = 5) -> int:
    """Runs per measurement from the parsed arguments."""
    return args.runs or (1 if args.smoke else default)


def write_result(name: str, rows: list[Row], out: Path, *, smoke: bool, params: dict[str, Any],
                 started: float, notes: list[str] | None = None) -> Path:
    """Write bench/results/<name>.json (rows, parameters, machine, load) and return its path."""
    out.mkdir(parents=True, exist_ok=True)
    doc = {"benchmark": name, "smoke": smoke, "at": datetime.now(UTC).isoformat(timespec="seconds"),
           "duration_s": round(time.perf_counter() - started, 1), "machine": machine(), "params": params,
           "rows": [asdict(r) for r in rows], "notes": notes or []}
    path = out / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    return path


def fmt_s(value: float | None) -> str:
    """Seconds for a table cell (ms below one second)."""
    if value is None:
        return "—"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def table(rows: list[Row]) -> str:
    """A small fixed-width table of rows."""
    head = ("scenario", "case", "ours", "baseline", "ratio", "goal", "met", "runs")
    body = [(r.scenario, r.case, fmt_s(r.ours_s), fmt_s(r.baseline_s), f"{r.ratio:.2f}×" if r.ratio else "—",
             r.goal, {True: "yes", False: "NO", None: "—"}[r.met], str(r.runs)) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)) for line in [head, *body]]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def report(name: str, rows: list[Row], out: Path, *, smoke: bool, params: dict[str, Any], started: float,
           notes: list[str] | None = None) -> Path:
    """Print the table and write the JSON."""
    path = write_result(name, rows, out, smoke=smoke, params=params, started=started, notes=notes)
    print(table(rows))
    for note in notes or []:
        print(f"  note: {note}")
    print(f"  → {path.relative_to(REPO) if path.is_relative_to(REPO) else path}  (load {loadavg()})", flush=True)
    return path


@contextmanager
def private_sandbox(prefix: str) -> Iterator[Any]:
    """A sandbox of our own in a fresh temp dir (never the user's), stopped and removed afterwards."""
    import sandbox

    with sandbox.private(f"rollback-bench-{prefix}-") as sb:
        yield sb


def pg_env(dsn: str) -> dict[str, str]:
    """Environment for PostgreSQL client tools against dsn (PG* variables, no password on argv)."""
    from components import runtime_env

    return runtime_env.libpq_env(dsn)


def python() -> str:
    """The interpreter running the benchmarks (the project's virtualenv)."""
    return sys.executable
