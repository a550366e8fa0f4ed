"""bullmq backend through the engine: a real BullMQ worker (Node) on a real Redis takes nothing while frozen,
the freeze waits for the job it holds, and the release lets it go on."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest
from bullmq import Queue
from pulumi.automation import CommandError

pytestmark = pytest.mark.e2e

QUEUES = ["ai-analysis", "document-processing"]


def add(redis_url: str, prefix: str, queue: str, *names: str) -> list[str]:
    """Add jobs with the official Python client; their ids."""
    async def go() -> list[str]:
        q = Queue(queue, {"connection": redis_url, "prefix": prefix})
        try:
            return [str((await q.add(name, {"n": name})).id) for name in names]
        finally:
            await q.close()
    return asyncio.run(go())


def freeze_outputs(stack) -> dict:
    resources = stack.export_stack().deployment["resources"]
    return next(r["outputs"] for r in resources if r["urn"].endswith("::release-jobs-freeze"))


def test_bullmq_queues_frozen_while_the_rollout_is_held_and_released_after(rig, sandbox, bullmq_worker):
    prefix = f"t{secrets.token_hex(4)}"
    jobs = {"backend": "bullmq", "queues": QUEUES, "prefix": prefix, "drainSeconds": 20}
    components = ["jobs", "schema"]
    worker = bullmq_worker(prefix, 1500, *QUEUES)
    url = sandbox.redis_url

    rig.stack("v1.5.0", components, allowCandidate=True, jobs=jobs).up()
    warm = add(url, prefix, QUEUES[0], "before-a") + add(url, prefix, QUEUES[1], "before-b")
    worker.wait_for(set(warm))  # released after the first rollout: the worker runs
    rig.sql("INSERT INTO notification_digests (user_id, day) VALUES (gen_random_uuid(), current_date)")

    held = add(url, prefix, QUEUES[0], "in-flight")  # taken just before the freeze, held 1.5 s
    while held[0] not in worker.started():
        time.sleep(0.02)
    with pytest.raises(CommandError, match="data-loss pre-check refused"):
        rig.stack("v1.4.2", components, jobs=jobs).up()  # frozen, then refused: the queues stay paused
    assert held[0] in worker.done()  # the freeze waited for the job the worker held
    frozen_at = time.time() * 1000
    late = add(url, prefix, QUEUES[0], "late-a") + add(url, prefix, QUEUES[1], "late-b")
    time.sleep(3)
    assert worker.started(since=frozen_at) == [], "a paused BullMQ queue handed a job to the worker"
    assert rig.frozen()

    done = rig.stack("v1.4.2", components, allowDataLoss=True, jobs=jobs)
    result = done.up()
    assert result.outputs["schema_version"].value == 3 and not rig.frozen()
    worker.wait_for(set(late))  # released: the jobs added while frozen run now
    assert freeze_outputs(done)["paused_jobs"] == len(QUEUES)
