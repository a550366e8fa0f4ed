"""E2E through the real engine: deploy v1, deploy v2, roll back to v1 by changing the target; then a no-op preview."""

from __future__ import annotations

from urllib.parse import urlparse

import boto3
import pytest
from pulumi.automation import EngineEvent, OpType

from tests.components.e2e_support import in_dependency_order, pre_event, step_ops

pytestmark = pytest.mark.e2e


def test_deploy_v1_v2_then_roll_back_to_v1(rig):
    rig.deploy("dpl_v130")
    rig.deploy("dpl_v142")

    events: list[EngineEvent] = []
    rig.stack("v1.3.0").preview(on_event=events.append)
    planned = step_ops(events)
    assert [t for _, t in planned] == ["JobFreeze", "PgDumpSnapshot", "SchemaMigration", "DbFunctions",
                                       "TriggerStates", "AliasAssignment", "HealthGate", "JobRelease"]
    assert {op for op, _ in planned} == {"create"}

    up1 = rig.stack("v1.3.0").up()
    assert up1.outputs["version"].value == 1 and up1.outputs["jobs_frozen"].value is False
    schema_v1, functions_v1, flags_v1 = rig.schema_dump(), rig.functions(), rig.flags()
    assert flags_v1["feature_feed_fusion"] is False and rig.alias_target() == "dpl_v130"
    rig.sql("INSERT INTO worker_jobs (kind) VALUES ('email'), ('digest')")

    up2 = rig.stack("v1.4.2").up()
    assert up2.outputs["schema_version"].value == 3 and up2.outputs["deployment_id"].value == "dpl_v142"
    assert rig.sql("SELECT version, dirty FROM schema_migrations") == [(3, False)]
    assert rig.flags()["feature_feed_fusion"] is True and rig.alias_target() == "dpl_v142"
    assert rig.functions()["notif_send"] != functions_v1["notif_send"]
    assert rig.schema_dump() != schema_v1
    assert rig.job_statuses() == ["pending", "pending"]  # paused by the freeze, resumed by the release

    # roll back: only the target changes
    events.clear()
    preview = rig.stack("v1.3.0").preview(on_event=events.append)
    planned = step_ops(events)
    assert planned == [("update", t) for t in ["JobFreeze", "PgDumpSnapshot", "SchemaMigration", "DbFunctions",
                                                "AliasAssignment", "HealthGate", "JobRelease"]]
    plan = pre_event(events, "SchemaMigration").new.inputs["plan"]
    assert (plan["from"], plan["to"], plan["direction"]) == (3, 1, "down")
    assert plan["files"] == ["0003_notifications_idempotency.down.sql", "0002_claim_and_feed_indexes.down.sql"]
    assert pre_event(events, "AliasAssignment").new.inputs["deployment_id"] == "dpl_v130"
    assert preview.change_summary.get(OpType.UPDATE) == 7

    events.clear()
    up3 = rig.stack("v1.3.0").up(on_event=events.append)
    applied = [t for _, t in step_ops(events, applied=True)]
    assert applied == [t for _, t in planned] and in_dependency_order(applied)
    assert up3.summary.result == "succeeded"

    assert rig.schema_dump() == schema_v1
    assert rig.functions() == functions_v1
    assert rig.flags() == flags_v1
    assert rig.alias_target() == "dpl_v130"
    moves = rig.transitions()
    assert moves == [(None, "dpl_v130"), ("dpl_v130", "dpl_v142"), ("dpl_v142", "dpl_v130")]
    assert all(to is not None for _, to in moves)  # never a moment without the alias
    assert not rig.frozen() and rig.job_statuses() == ["pending", "pending"]

    out = up3.outputs
    assert (out["version"].value, out["label"].value, out["schema_version"].value) == (1, "v1.3.0", 1)
    assert out["rollout_id"].value == up1.outputs["rollout_id"].value  # same target, same rollout id
    refs = {up1.outputs["snapshot_reference"].value, up2.outputs["snapshot_reference"].value,
            out["snapshot_reference"].value}
    assert len(refs) == 3
    s3 = boto3.client("s3", endpoint_url=rig.env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id=rig.env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=rig.env["AWS_SECRET_ACCESS_KEY"])
    for ref in refs:
        url = urlparse(ref)
        assert url.scheme == "s3" and s3.head_object(Bucket=url.netloc, Key=url.path.lstrip("/"))["ContentLength"] > 0

    state = rig.stack("v1.3.0").export_stack().deployment
    blob = str(state) + "".join(str(v.value) for v in out.values())
    assert all(secret not in blob for secret in rig.sandbox.secret_values())  # credentials come from the env only

    events.clear()
    again = rig.stack("v1.3.0").preview(on_event=events.append)
    assert step_ops(events) == []
    assert set(again.change_summary) == {OpType.SAME}
