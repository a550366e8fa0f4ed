"""sql backend through the engine on a River-shaped queue: the stack's statements pause River's queues, the freeze
waits for the running job, nothing is claimed while frozen, and the release resumes the queues."""

from __future__ import annotations

import time

import pytest
from pulumi.automation import CommandError

from tests.jobs.river_like import SCHEMA, RiverLikeWorker

pytestmark = pytest.mark.e2e

RIVER = {"backend": "sql",
         "pause": "UPDATE river_queue SET paused_at = now(), updated_at = now() WHERE paused_at IS NULL",
         "resume": "UPDATE river_queue SET paused_at = NULL, updated_at = now() WHERE paused_at IS NOT NULL",
         "running": "SELECT count(*) FROM river_job WHERE state = 'running'", "drainSeconds": 20}


def test_river_like_queue_frozen_while_held_and_released_after(rig):
    components = ["jobs", "schema"]
    rig.sql(SCHEMA)
    worker = RiverLikeWorker(rig.dsn)
    thread = worker.start()
    try:
        rig.stack("v1.5.0", components, allowCandidate=True, jobs=RIVER).up()
        rig.sql("INSERT INTO notification_digests (user_id, day) VALUES (gen_random_uuid(), current_date)")
        rig.sql("INSERT INTO river_job (kind, queue) VALUES ('in_flight', 'default')")
        while not worker.taken:
            time.sleep(0.02)
        with pytest.raises(CommandError, match="data-loss pre-check refused"):
            rig.stack("v1.4.2", components, jobs=RIVER).up()
        assert rig.sql("SELECT kind, state::text FROM river_job") == [("in_flight", "completed")]  # drained first
        assert rig.sql("SELECT count(*) FROM river_queue WHERE paused_at IS NULL") == [(0,)]
        frozen_at = time.time()
        rig.sql("INSERT INTO river_job (kind, queue) VALUES ('late', 'default'), ('late', 'mailers')")
        time.sleep(2)
        assert [t for t in worker.taken if t[1] >= frozen_at] == [], "a paused River queue's job was claimed"

        rig.stack("v1.4.2", components, allowDataLoss=True, jobs=RIVER).up()
        assert rig.sql("SELECT count(*) FROM river_queue WHERE paused_at IS NOT NULL") == [(0,)]
        deadline = time.monotonic() + 15
        while rig.sql("SELECT count(*) FROM river_job WHERE state <> 'completed'") != [(0,)]:
            assert time.monotonic() < deadline, "the released River queue did not run the jobs added meanwhile"
            time.sleep(0.1)
    finally:
        worker.stop.set()
        thread.join(timeout=5)
