"""`python -m bench` (`make bench`): every scenario in turn, then one summary table (JSON + Markdown)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.common import RESULTS, Row, fmt_s, loadavg, machine

SCENARIOS = ("startup", "plan_scale", "migrations", "snapshot", "keep", "e2e", "traffic", "uponly", "watch")


def markdown(rows: list[dict[str, object]]) -> str:
    """The docs/performance.md table: scenario, case, ours, baseline, ratio, goal, met, runs."""
    out = ["| scenario | case | ours | baseline | ratio | goal | met | runs |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        row = Row(**{k: v for k, v in r.items() if k in Row.__dataclass_fields__})  # type: ignore[arg-type]
        ratio = f"{row.ratio:.2f}×" if row.ratio else "—"
        met = {True: "yes", False: "**no**", None: "—"}[row.met]
        out.append(f"| {row.scenario} | {row.case} | {fmt_s(row.ours_s)} | {fmt_s(row.baseline_s)} | {ratio} | "
                   f"{row.goal} | {met} | {row.runs} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios as separate processes (clean imports and memory for each), then summarise."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--smoke", action="store_true", help="tiny sizes, 1 run each")
    p.add_argument("--only", nargs="*", choices=SCENARIOS, default=list(SCENARIOS))
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    started, failed, timings = time.perf_counter(), [], {}
    print(f"bench: {', '.join(args.only)} (load {loadavg()})", flush=True)
    for name in args.only:
        print(f"\n== {name}", flush=True)
        t = time.perf_counter()
        cmd = [sys.executable, "-m", f"bench.{name}", "--out", str(args.out), *(["--smoke"] if args.smoke else [])]
        if subprocess.run(cmd, check=False).returncode != 0:
            failed.append(name)
        timings[name] = round(time.perf_counter() - t, 1)
    rows = []
    for name in SCENARIOS:
        path = args.out / f"{name}.json"
        if path.exists():
            rows += json.loads(path.read_text())["rows"]
    total = round(time.perf_counter() - started, 1)
    summary = {"total_s": total, "scenario_s": timings, "failed": failed, "machine": machine(), "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (args.out / "summary.md").write_text(markdown(rows))
    print(f"\nbench: {total:.0f} s in all ({', '.join(f'{k} {v:.0f} s' for k, v in timings.items())}); "
          f"table in {args.out / 'summary.md'}" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
