"""Scenario 2, plan at scale: the offline diff (rollback/plan.py + plan_format) on synthesized engine events for
100 / 1 000 / 10 000 resources, rollback_stacks histories of 10 / 100 / 1 000 versions (load + resolve + list),
and, for scale, the engine's own preview of N tiny resources (its floor, not ours)."""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import REPO, Row, median, parser, report, run, runs_of, timed

GOAL_10K_S = 2.0
GOAL_GROWTH = 12.0
PREFIX = "urn:pulumi:local::rollback-as-code::rollback:components:Release$rollback:components:"
COMPONENTS = ("JobControl", "DatabaseSnapshot", "SchemaVersion", "DatabaseObjects", "DeploymentAlias", "HealthGate")


def _state(i: int, gen: int) -> dict[str, Any]:
    return {"value": f"release-{gen}-{i}", "rollout_id": f"ro-{gen:04d}{i:012d}",
            "flags": {"workers": True, "notif_frequency_cap": 5 * gen + i % 7, "rate_limit_multiplier": 1.0 / gen,
                      "feature_feed_fusion": bool((i + gen) % 2)},
            "sql": {"0001_init.up.sql": "CREATE TABLE t (id int);" * 20}, "checksums": {"f": "0" * 64},
            "plan": {"from": gen, "to": gen + 1, "files": [f"{n:04d}_m.up.sql" for n in range(gen)], "data_loss": []}}


def event_lines(n: int) -> list[str]:
    """The engine's JSON event log of a preview changing n custom resources (worst case: every one updates)."""
    lines = [json.dumps({"sequence": 0, "timestamp": 0, "preludeEvent": {"config": {}}})]
    for i in range(n):
        comp = COMPONENTS[i % len(COMPONENTS)]
        typ, name = "rollback:index:Tiny", f"tiny-{i:05d}"
        urn = f"{PREFIX}{comp}${typ}::{name}"
        old, new = _state(i, 1), _state(i, 2)
        meta = {"op": "update", "urn": urn, "type": typ, "provider": "urn:pulumi:local::p::pulumi:providers:x::d",
                "old": {"type": typ, "urn": urn, "id": name, "custom": True, "inputs": old, "outputs": old},
                "new": {"type": typ, "urn": urn, "id": name, "custom": True, "inputs": new, "outputs": new},
                "diffs": ["value", "rollout_id", "flags", "plan"],
                "detailedDiff": {"value": {"diffKind": "update", "inputDiff": True}}}
        lines.append(json.dumps({"sequence": 2 * i + 1, "timestamp": 0, "resourcePreEvent": {"metadata": meta}}))
        lines.append(json.dumps({"sequence": 2 * i + 2, "timestamp": 0, "resOutputsEvent": {"metadata": meta}}))
    lines.append(json.dumps({"sequence": 2 * n + 1, "timestamp": 0, "summaryEvent": {
        "maybeCorrupt": False, "durationSeconds": 1, "resourceChanges": {"update": n}, "policyPacks": {}}}))
    return lines


def parse_events(lines: list[str]) -> list[Any]:
    """What the Automation API does with the event log: JSON lines → EngineEvent objects (the SDK's part)."""
    from pulumi.automation.events import EngineEvent

    return [EngineEvent.from_json(json.loads(line)) for line in lines]


FORMATS = ("text", "markdown", "json")


def offline_diff(events: list[Any], fmt: str) -> int:
    """Ours, as `rollback plan --format fmt` runs it: steps_from_events → Plan → the format, text printed by `show`."""
    from rich.console import Console

    from rollback import plan_format
    from rollback.plan import Plan, steps_from_events
    from rollback.rollout_cli import show

    plan = Plan(stack="local", target="last-good", current={"version": 3, "label": "v1.5.0"},
                desired={"version": 2, "label": "v1.4.2"}, steps=steps_from_events(events))
    if fmt == "text":
        buf = io.StringIO()
        console = Console(file=buf, width=200, highlight=False, soft_wrap=True, force_terminal=True)
        show(console, plan_format.to_text(plan))
        return len(buf.getvalue())
    return len(plan_format.to_markdown(plan) if fmt == "markdown" else plan_format.to_json(plan))


def diff_rows(sizes: list[int], runs: int) -> tuple[list[Row], dict[tuple[str, int], float]]:
    """Offline diff timings per size and format (ours) next to the SDK's parsing of the same events (context)."""
    rows, ours_at = [], {}
    for n in sizes:
        lines = event_lines(n)
        events = parse_events(lines)
        k = runs if n < 10_000 else min(runs, 3)  # 10 000 resources: 3 runs (the text case alone is seconds each)
        sdk = [timed(lambda ln=lines: parse_events(ln)) for _ in range(1 if n >= 10_000 else k)]
        for fmt in FORMATS:
            size = offline_diff(events, fmt) if n < 10_000 else 0
            ours = [timed(lambda ev=events, f=fmt: offline_diff(ev, f)) for _ in range(k)]
            ours_at[fmt, n] = median(ours)
            goal = f"< {GOAL_10K_S:g} s" if n == 10_000 else "—"
            met = ours_at[fmt, n] < GOAL_10K_S if n == 10_000 else None
            rows.append(Row("2 plan at scale", f"offline diff {fmt}, {n} res.", ours_at[fmt, n], median(sdk), k,
                            goal, met, baseline="SDK parsing the same event log",
                            samples={"ours": ours, "baseline": sdk},
                            extra={"per_resource_us": round(ours_at[fmt, n] / n * 1e6, 1), "output_chars": size}))
    return rows, ours_at


def growth_row(what: str, times: dict[int, float], small: int, big: int, runs: int) -> Row:
    """A row for growth big/small (goal ≤ 12×, i.e. roughly linear for a 10× size step)."""
    growth = times[big] / times[small] if times.get(small) else None
    met = None if growth is None else growth <= GOAL_GROWTH
    return Row("2 plan at scale", f"{what} growth {big}/{small}", times[big], times[small], runs,
               f"≤ {GOAL_GROWTH:g}×", met, ratio=growth and round(growth, 2), baseline=f"same at {small}")


def write_history(root: Path, n: int) -> Path:
    """A copy of the `local` stack (SQL files, settings) with n generated versions and a valid sums file."""
    from rollback_stacks import docs, sums
    from rollback_stacks.record import ordered

    src = REPO / "rollback_stacks" / "local"
    stacks = root / "rollback_stacks"
    stack = stacks / "local"
    shutil.copytree(src / "migrations", stack / "migrations")
    shutil.copytree(src / "functions", stack / "functions")
    (stack / "versions").mkdir(parents=True)
    shutil.copy2(REPO / "Pulumi.local.yaml", root / "Pulumi.local.yaml")
    templates = [docs.read(src / "versions" / f"{v:04d}.yaml").data for v in (2, 3)]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    entries: dict[str, str] = {}
    for i in range(1, n + 1):
        data = copy.deepcopy(templates[i % 2])
        status = "candidate" if i == n else ("bad" if i % 10 == 7 else "known-good")
        data.update(version=i, label=f"v{i // 100}.{i % 100}.0-b", created_at=start + timedelta(hours=i),
                    status=status, status_history=[], git_sha=f"{i:016x}")
        data["app"]["deployment_id"] = f"dpl_{i:05d}"
        text = docs.dump_version(ordered(data))
        rel = f"versions/{i:04d}.yaml"
        (stack / rel).write_text(text, encoding="utf-8")
        entries[rel] = sums.document_hash(docs.parse(text, rel).data)
        for sql_rel in (*(f"migrations/{m}" for m in data["database"]["migrations"]),
                        *(f["file"] for f in data["database"]["functions"].values())):
            entries.setdefault(sql_rel, sums.sha256_file(stack / sql_rel))
    (stack / sums.SUMS_FILE).write_text(sums.render(entries), encoding="utf-8")
    return stacks


def history_ops(stacks: Path, n: int) -> dict[str, int]:
    """load (validation + sums) + resolve last-good / previous / -3 / before: + list rows, in-process."""
    import rollback_stacks
    from rollback.targets_cli import _summary

    rec = rollback_stacks.load("local", stacks)
    good = rec.last_good
    assert good is not None
    rec.resolve("last-good")
    rec.resolve("previous", deployed=n)
    rec.resolve(f"-{min(3, n - 2)}", deployed=n)
    rec.resolve(f"before:{rec.versions[len(rec.versions) // 2].created_at.isoformat()}")
    rows = [_summary(v, good.version) for v in rec.versions]
    assert len(rows) == n, (len(rows), n)
    return {"versions": len(rec.versions), "rows": len(rows)}


def history_rows(sizes: list[int], runs: int) -> tuple[list[Row], dict[int, float]]:
    """Per history size: in-process load+resolve+list (ours) and the `targets list --format json` CLI wall time."""
    rows, at = [], {}
    env = {**os.environ, "NO_COLOR": "1"}
    exe = str(Path(sys.executable).parent / "rollback")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="rollback-bench-history-") as tmp:
            stacks = write_history(Path(tmp), n)
            k = runs if n < 1_000 else min(runs, 3)
            ours = [timed(lambda s=stacks, m=n: history_ops(s, m)) for _ in range(k)]
            cli = [timed(lambda s=stacks: run([exe, "targets", "list", "local", "--format", "json", "--root", str(s)],
                                              env=env))]
        at[n] = median(ours)
        rows.append(Row("2 plan at scale", f"history {n} versions: load+resolve+list", at[n], None, k, "—", None,
                        samples={"ours": ours, "cli_targets_list": cli},
                        extra={"cli_targets_list_s": median(cli), "per_version_ms": round(at[n] / n * 1e3, 2)}))
    return rows, at


def engine_program(n: int) -> Callable[[], None]:
    """A program of n tiny dynamic resources (tests/operator/tinyprogram.Echo)."""
    def program() -> None:
        from tests.operator.tinyprogram import Echo

        for i in range(n):
            Echo(f"tiny-{i:05d}", f"v{i}")
    return program


def engine_rows(sizes: list[int], runs: int) -> list[Row]:
    """The engine's preview of n tiny resources (creates) through our workspace + steps_from_events."""
    from rollback.plan import steps_from_events
    from rollback.workspace import open_stack

    rows = []
    with tempfile.TemporaryDirectory(prefix="rollback-bench-engine-") as tmp:
        env = {**os.environ, "PULUMI_CONFIG_PASSPHRASE": "bench"}
        for n in sizes:
            st = open_stack(f"tiny{n}", engine_program(n), backend_url=f"file://{tmp}", env=env)
            samples, ours = [], []
            for _ in range(max(1, runs if n <= 100 else 1)):
                events: list[Any] = []
                samples.append(timed(lambda s=st, ev=events: s.preview(on_event=ev.append)))
                ours.append(timed(lambda ev=events: steps_from_events(ev)))
                assert len(steps_from_events(events)) == n
            rows.append(Row("2 plan at scale", f"engine preview, {n} tiny resources", median(ours), median(samples),
                            len(samples), "—", None, baseline="the engine's preview itself (floor)",
                            samples={"ours_steps_from_events": ours, "engine_preview": samples},
                            extra={"engine_ms_per_resource": round(median(samples) / n * 1e3, 2)}))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Measure and report."""
    args = parser(__doc__ or "").parse_args(argv)
    started, runs = time.perf_counter(), runs_of(args)
    sizes = [10, 100] if args.smoke else [100, 1_000, 10_000]
    histories = [4, 10] if args.smoke else [10, 100, 1_000]
    engine = [5] if args.smoke else [100, 1_000]
    rows, diff_at = diff_rows(sizes, runs)
    for fmt in FORMATS:
        rows.append(growth_row(f"offline diff {fmt}", {n: diff_at[fmt, n] for n in sizes}, sizes[-2], sizes[-1],
                               runs))
    hist, hist_at = history_rows(histories, runs)
    rows += hist
    rows.append(growth_row("history", hist_at, histories[-2], histories[-1], runs))
    rows += engine_rows(engine, runs)
    notes = ["offline diff: every resource changes (worst case: one step per resource, ~9 text lines each); "
             "text = plan_format.to_text printed through rich to a 200-column terminal, as `rollback plan` does; "
             "baseline column = the Pulumi SDK's own parsing of the same event log (context, not a goal)",
             "history rows: in-process rollback_stacks.load (schema, consistency, sums) + 4 resolves + list rows; "
             "extra.cli_targets_list_s = one `rollback targets list --format json --root` wall time; 3 runs at 1 000",
             "engine rows: creates from an empty state (a program of N Echo dynamic resources); ours = "
             "steps_from_events on its events, baseline = the engine preview (its own floor, not our code)"]
    report("plan_scale", rows, args.out, smoke=args.smoke, params={"runs": runs, "resources": sizes,
           "histories": histories, "engine_resources": engine}, started=started, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
