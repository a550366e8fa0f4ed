"""Scenario 3, start-up: `rollback --help` and `rollback targets list local` wall time (goal ≤ 0.5 s)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from bench.common import REPO, Row, median, parser, report, run, runs_of

GOAL_S = 0.5


def rollback_bin() -> str:
    """The `rollback` console script next to this interpreter (else on PATH)."""
    here = Path(sys.executable).parent / "rollback"
    return str(here) if here.exists() else shutil.which("rollback") or "rollback"


def wall(argv: list[str], runs: int, env: dict[str, str]) -> list[float]:
    """Wall seconds of `runs` runs of argv (after one untimed warm-up run for the page cache)."""
    run(argv, env=env)
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        run(argv, env=env)
        out.append(time.perf_counter() - start)
    return out


def import_top(env: dict[str, str], limit: int = 8) -> list[tuple[str, float]]:
    """The slowest cumulative imports of `rollback.cli` (python -X importtime), in ms."""
    proc = run([sys.executable, "-X", "importtime", "-c", "import rollback.cli"], env=env)
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((parts[2].rstrip(), int(parts[1]) / 1000))
    top = [(name.strip(), ms) for name, ms in rows if len(name) - len(name.lstrip(" ")) == 3]  # children of the CLI
    return sorted(top, key=lambda r: -r[1])[:limit]


def main(argv: list[str] | None = None) -> int:
    """Measure and report."""
    args = parser(__doc__ or "").parse_args(argv)
    started, runs = time.perf_counter(), runs_of(args, 10)
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    env.pop("ROLLBACK_PROJECT_DIR", None)
    exe = rollback_bin()
    floor = wall([sys.executable, "-c", "pass"], runs, env)
    rows = []
    for case, cmd in (("rollback --help", [exe, "--help"]),
                      ("rollback targets list local", [exe, "targets", "list", "local"])):
        samples = wall(cmd, runs, env)
        ours = median(samples)
        rows.append(Row("3 start-up", case, ours, median(floor), runs, f"≤ {GOAL_S} s", ours <= GOAL_S,
                        baseline="python -c pass (interpreter floor)", samples={"ours": samples, "baseline": floor}))
    top = import_top(env)
    notes = ["baseline = bare interpreter start; the goal is absolute (≤ 0.5 s)",
             "slowest direct imports of rollback.cli (cumulative ms): " + ", ".join(f"{n} {ms:.0f}" for n, ms in top)]
    report("startup", rows, args.out, smoke=args.smoke, params={"runs": runs, "rollback": exe,
                                                                "cwd": str(REPO)}, started=started, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
