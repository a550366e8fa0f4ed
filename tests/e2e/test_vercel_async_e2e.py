"""Vercel's Instant Rollback and promote complete asynchronously: through the real engine, a promote that completes
after a delay succeeds (the step waits, within its retry budget), a rollback Vercel reports failed and one that
stays pending both stop the update clean at the alias step (jobs stay frozen, nothing after it runs), and the same
update converges once Vercel completes."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pulumi.automation import CommandError, EngineEvent

from tests.e2e.test_vercel_production_e2e import _client, serving, team  # noqa: F401 (team: a fixture)

pytestmark = pytest.mark.e2e
BUDGET = 3.0  # this test's rollback:retries.budget (seconds)


def jobs_end(rig: Any, vercel: dict[str, Any], outcome: str, after_s: float = 0) -> None:
    """How the stand-in ends the project's next rollback/promote jobs."""
    with _client(rig, None) as c:
        c.patch(f"/_standin/projects/{vercel['projectId']}/alias-jobs",
                json={"outcome": outcome, "after_s": after_s}).raise_for_status()


def up(rig: Any, target: str, deployed: int | None, vercel: dict[str, Any]) -> tuple[Any, list[EngineEvent], float]:
    events: list[EngineEvent] = []
    settings: dict[str, Any] = {"vercel": vercel, "retries": {"budget": f"{BUDGET:g}s"}}
    if deployed is not None:
        settings["deployed"] = deployed
    started = time.monotonic()
    try:
        result: Any = rig.stack(target, **settings).up(on_event=events.append)
    except CommandError as err:
        result = err
    return result, events, time.monotonic() - started


def outputs_of(events: list[EngineEvent], type_suffix: str) -> dict[str, Any]:
    found = [e.res_outputs_event.metadata.new.outputs for e in events if e.res_outputs_event is not None
             and e.res_outputs_event.metadata.type.endswith(type_suffix)]
    assert found, f"no outputs of {type_suffix}"
    return dict(found[-1])


def applied(events: list[EngineEvent]) -> list[str]:
    return [e.res_outputs_event.metadata.type.rsplit(":", 1)[-1] for e in events if e.res_outputs_event is not None
            and e.res_outputs_event.metadata.type.startswith("pulumi-python:dynamic/rollback:")]


def test_rollback_and_promote_completing_late_failing_or_pending(rig, team):  # noqa: F811 (the fixture)
    first, _, _ = up(rig, "v1.3.0", None, team)
    assert first.summary.result == "succeeded" and serving(rig, team["teamId"]) == "dpl_v130"

    jobs_end(rig, team, "succeeded", 1.5)  # the promote completes after 1.5 s: the step waits for it
    late, events, took = up(rig, "v1.4.2", 1, team)
    assert late.summary.result == "succeeded" and serving(rig, team["teamId"]) == "dpl_v142"
    waited = outputs_of(events, "AliasAssignment")["retries"]
    assert waited["calls"] >= 4 and waited["wait_seconds"] >= 1.0 and waited["retries"] == 0, waited
    progress = [e.diagnostic_event.message for e in events if e.diagnostic_event is not None
                and "waiting for Vercel's promote" in e.diagnostic_event.message]
    assert progress and "in-progress" in progress[0], "no progress line while the step waited"

    jobs_end(rig, team, "failed", 0.3)  # Vercel reports the rollback failed
    failed, events, took = up(rig, "v1.3.0", 2, team)
    assert isinstance(failed, CommandError)
    text = str(failed)
    assert f"Vercel reports the rollback of project {team['projectId']} to dpl_v130 failed" in text
    assert "Jobs stay frozen" in text and "Traceback" not in text
    assert serving(rig, team["teamId"]) == "dpl_v142" and rig.frozen()
    assert "HealthGate" not in applied(events) and "JobRelease" not in applied(events)

    jobs_end(rig, team, "pending")  # the job never ends: the step gives up when its budget is spent
    pending, events, took = up(rig, "v1.3.0", 2, team)
    assert isinstance(pending, CommandError)
    text = str(pending)
    assert f"retry budget of {BUDGET:g}s spent" in text
    assert f"GET /v9/projects/{team['projectId']}: the rollback to dpl_v130 is still in-progress after" in text
    assert took < BUDGET + 30  # the engine's own start-up and the steps before it, plus the budget: never 120 s
    assert serving(rig, team["teamId"]) == "dpl_v142" and rig.frozen()
    assert "HealthGate" not in applied(events)

    jobs_end(rig, team, "succeeded", 0.5)  # Vercel completes again: the same update converges
    again, events, _ = up(rig, "v1.3.0", 2, team)
    assert again.summary.result == "succeeded" and serving(rig, team["teamId"]) == "dpl_v130" and not rig.frozen()
