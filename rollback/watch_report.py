"""The watch's report: report.json (outcome, checks, decision), report.md (a chart of each check over the window and
every sample, streamed from samples.jsonl so a long watch is never held in memory), beside samples.jsonl."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollback.watch_checks import sparkline
from rollback_stacks.watch_settings import shown

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rollback.watch_checks import WatchResult
    from rollback_stacks.watch_settings import WatchSettings

MARKS = {"ok": "✓", "out": "·", "fail": "✗", "unmeasured": "?", "pending": "…"}


def summary(result: WatchResult, stack: str, settings: WatchSettings, deployed: Mapping[str, Any]) -> dict[str, Any]:
    """report.json's content."""
    v = result.version
    return {"stack": stack, "version": v.version, "label": v.label,
            "deployment_id": deployed.get("deployment_id"), "outcome": result.outcome, "reason": result.reason,
            "exit_code": result.exit_code, "window_seconds": settings.window,
            "interval_seconds": settings.interval, "samples": result.samples,
            "elapsed_seconds": round(result.elapsed, 3), "recorded_known_good": result.recorded,
            "checks": result.checks,
            "decision": result.decision.model_dump(mode="json", exclude={"explain"}) if result.decision else None,
            "samples_file": "samples.jsonl"}


def _num(x: Any) -> str:
    return "—" if x is None else f"{x:.4g}"


def _samples(path: Path, names: list[str]) -> Iterator[str]:
    """One markdown table row per sample, read line by line."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            s = json.loads(line)
            cells = []
            for name in names:
                c = s["checks"].get(name, {})
                x = c.get("measured") if c.get("measured") is not None else c.get("value")
                cells.append(f"{MARKS.get(c.get('state', ''), '')} {_num(x)}")
            yield f"| {s['i']} | {s['t']:.1f} s | " + " | ".join(cells) + " |\n"


def write(result: WatchResult, stack: str, settings: WatchSettings, env: Mapping[str, str],
          deployed: Mapping[str, Any]) -> None:
    """Write report.json and report.md into the watch's report directory (secrets redacted)."""
    from rollback.redact import Redactor

    redactor = Redactor(env=env)
    folder = result.report_dir
    data = redactor.data(summary(result, stack, settings, deployed))
    (folder / "report.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    v = result.version
    head = [f"# Watch of {stack}: {v.label} (version {v.version}) {result.outcome}", "",
            f"- outcome: **{result.outcome}** (exit {result.exit_code}): {result.reason}",
            f"- window {shown(settings.window)}, every {shown(settings.interval)}: {result.samples} "
            f"sample(s) in {result.elapsed:.1f} s",
            f"- deployment {deployed.get('deployment_id') or '—'}",
            "- recorded: " + ("known-good (the window is in the version's `watches`)" if result.recorded else
                              "nothing"), ""]
    if result.decision is not None:
        d = result.decision
        head += [f"## Decision: {d.action.value}" + (f" to {d.target}" if d.target else "") +
                 (f" ({d.severity})" if d.severity else ""), ""]
        head += [f"- {r.text} (rule {r.rule}, {r.source})" for r in d.reasons] + [""]
    head += ["## Checks", "", "| check | measure | bounds | outcome | samples | ok | out | failures | unmeasured | "
             "min | mean | max | last |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in result.checks:
        head.append(f"| {c['name']} | {c['kind']} {c['measure']} | {c['bounds']} | {c['outcome']} | {c['samples']} "
                    f"| {c['ok']} | {c['out_of_bounds']} | {c['failures']} | {c['unmeasured']} | {_num(c['min'])} "
                    f"| {_num(c['mean'])} | {_num(c['max'])} | {_num(c['last'])} |")
    head += ["", "## Over the window", "", "Each bar is the highest value measured in 1/48 of the window (a rate: "
             "per minute); a gap: nothing measured.", "", "```"]
    width = max((len(st.probe.name) for st in result.states), default=0)
    for st in result.states:
        head.append(f"{st.probe.name:<{width}}  {sparkline(st)}  {_num(st.low if st.measured_n else None)}.."
                    f"{_num(st.high if st.measured_n else None)} ({st.probe.bounds()})")
    head += ["```", "", "## Every sample", "",
             f"{', '.join(f'{m} {k}' for k, m in MARKS.items())}; the full record is samples.jsonl.", ""]
    names = [c["name"] for c in result.checks]
    with (folder / "report.md").open("w", encoding="utf-8") as md:
        md.write(redactor.text("\n".join(head)) + "\n")
        md.write("| # | at | " + " | ".join(names) + " |\n|---|---|" + "---|" * len(names) + "\n")
        for row in _samples(folder / "samples.jsonl", names):
            md.write(row)
