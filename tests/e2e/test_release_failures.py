"""E2E failure paths: a failing health check keeps jobs frozen and names the check; the data-loss pre-check."""

from __future__ import annotations

import pytest
from pulumi.automation import CommandError

pytestmark = pytest.mark.e2e


def test_failing_health_check_fails_up_and_keeps_jobs_frozen(rig):
    rig.deploy("dpl_v130")
    rig.deploy("dpl_v142", {"health": "fail", "metrics": {"error_rate": 0.12, "latency_p95_ms": 420,
                                                           "availability": 0.999}})
    first = rig.stack("v1.3.0", healthBudgetSeconds=2).up()
    rig.sql("INSERT INTO worker_jobs (kind) VALUES ('email')")
    flags_v1 = rig.flags()

    output: list[str] = []
    with pytest.raises(CommandError):
        rig.stack("v1.4.2", healthBudgetSeconds=2).up(on_output=output.append)
    msg = " ".join("".join(output).split())  # the engine wraps long messages
    assert "health gate failed" in msg
    assert "http check 'app': HTTP 503 (want 200)" in msg
    assert "metric check 'error_rate': 0.12 is above the maximum 0.05" in msg
    assert "Jobs stay frozen by rollout ro-" in msg
    assert rig.frozen() and rig.job_statuses() == ["paused"]
    assert rig.flags() == flags_v1  # the release step (new flags) never ran
    assert rig.alias_target() == "dpl_v142"  # the gate runs after the move; rolling back is the operator's call

    # roll back to v1 (the last released rollout): a new freeze token makes the gate re-check v1 and the
    # release resume jobs
    back = rig.stack("v1.3.0", healthBudgetSeconds=2).up()
    assert back.summary.result == "succeeded"
    assert not rig.frozen() and rig.job_statuses() == ["pending"]
    assert rig.alias_target() == "dpl_v130"
    assert back.outputs["rollout_id"].value == first.outputs["rollout_id"].value


def test_data_loss_down_step_refused_without_flag_applied_with_it(rig):
    components = ["jobs", "schema"]
    rig.stack("v1.5.0", components, allowCandidate=True).up()
    assert rig.sql("SELECT version FROM schema_migrations") == [(5,)]
    rig.sql("INSERT INTO notification_digests (user_id, day) VALUES (gen_random_uuid(), current_date)")

    output: list[str] = []
    with pytest.raises(CommandError):
        rig.stack("v1.4.2", components).up(on_output=output.append)
    msg = " ".join("".join(output).split())  # the engine wraps long messages
    assert "data-loss pre-check refused the migration" in msg
    assert "0005_notification_digests.down.sql drops table notification_digests (1 rows)" in msg
    assert "Jobs stay frozen" in msg
    assert rig.sql("SELECT version, dirty FROM schema_migrations") == [(5, False)]
    assert rig.sql("SELECT count(*) FROM notification_digests") == [(1,)]
    assert rig.frozen()

    done = rig.stack("v1.4.2", components, allowDataLoss=True).up()
    assert done.outputs["schema_version"].value == 3
    assert rig.sql("SELECT to_regclass('public.notification_digests')") == [(None,)]
    assert not rig.frozen()
