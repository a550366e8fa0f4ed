"""Job freeze/release providers: the flags table, the sql backend on a queue table of the test's own, the drained
wait, and the http admin backend."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest

from components.providers.base import StepFailed
from components.providers.jobs import JobFreezeProvider, JobReleaseProvider, read_control

QUEUE = """
CREATE TABLE public.tasks (id serial PRIMARY KEY, state text NOT NULL);
INSERT INTO public.tasks (state) VALUES ('ready'), ('ready'), ('busy'), ('dead');
"""
SQL = {"backend": "sql", "pause": "UPDATE tasks SET state = 'held' WHERE state = 'ready'",
       "resume": "UPDATE tasks SET state = 'ready' WHERE state = 'held'",
       "running": "SELECT count(*) FROM tasks WHERE state = 'busy'", "drain_seconds": 5.0}


def states(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute("SELECT state FROM tasks ORDER BY id")]


def finish_busy_later(dsn: str, after: float) -> threading.Thread:
    def run() -> None:
        time.sleep(after)
        with psycopg.connect(dsn) as conn:
            conn.execute("UPDATE tasks SET state = 'done' WHERE state = 'busy'")
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_sql_freeze_waits_until_drained_then_release_resumes(db):
    with psycopg.connect(db) as conn:
        conn.execute(QUEUE)
    worker = finish_busy_later(db, 1.0)  # the job a worker holds finishes after the pause
    freeze = JobFreezeProvider().create({"rollout_id": "ro-1", "queue": SQL})
    worker.join()
    assert freeze.outs["frozen"] is True and freeze.outs["paused_jobs"] == 2
    assert freeze.outs["drained_after_seconds"] >= 1
    assert states(db) == ["held", "held", "done", "dead"]
    assert read_control(db)["frozen"] is True

    release = JobReleaseProvider().create({"rollout_id": "ro-1", "queue": SQL,
                                           "flags": {"workers": True, "cap": 5, "ratio": 0.5, "mode": "x"}})
    assert release.outs["frozen"] is False and release.outs["resumed_jobs"] == 2
    assert states(db) == ["ready", "ready", "done", "dead"]
    assert read_control(db) == {"rollout": "ro-1", "frozen": False,
                                "flags": {"cap": 5, "mode": "x", "ratio": 0.5, "workers": True}}

    # a flag the next target lacks is removed; refresh reads the live flags
    JobReleaseProvider().update("jobs", release.outs, {"rollout_id": "ro-2", "queue": SQL,
                                                       "flags": {"workers": False}})
    assert read_control(db)["flags"] == {"workers": False}
    live = JobReleaseProvider().read("jobs", {"queue": SQL, "flags": {}}).outs
    assert live["flags"] == {"workers": False} and live["frozen"] is False


def test_sql_freeze_not_drained_fails_naming_the_setting_and_keeps_the_pause(db):
    with psycopg.connect(db) as conn:
        conn.execute(QUEUE)
    with pytest.raises(StepFailed, match=r"1 job\(s\) still running after 0.5s .*rollback:jobs.drainSeconds"):
        JobFreezeProvider().create({"rollout_id": "ro-1", "queue": {**SQL, "drain_seconds": 0.5}})
    assert states(db) == ["held", "held", "busy", "dead"]  # paused stays paused: never resumed behind one's back


def test_sql_statements_before_the_queue_table_exists_touch_nothing(db):
    outs = JobFreezeProvider().create({"rollout_id": "ro-1", "queue": SQL}).outs
    assert outs["paused_jobs"] == 0 and read_control(db)["frozen"] is True
    assert JobReleaseProvider().create({"rollout_id": "ro-1", "queue": SQL, "flags": {}}).outs["resumed_jobs"] == 0


def test_flags_table_only_and_diff_by_rollout(db):
    p = JobFreezeProvider()
    outs = p.create({"rollout_id": "ro-1", "queue": {"backend": "postgres"}}).outs
    assert outs["paused_jobs"] == 0
    assert p.diff("f", outs, {**outs, "jobs_frozen_by": "whatever"}).changes is False
    assert p.diff("f", outs, {**outs, "rollout_id": "ro-2"}).changes is True
    assert p.diff("f", outs, {**outs, "queue": SQL}).changes is True
    r = JobReleaseProvider()
    wire = {"rollout_id": "a", "flags": {"n": 5.0}}  # numbers come back from the engine as doubles
    assert r.diff("r", {"rollout_id": "a", "flags": {"n": 5}}, wire).changes is False


def test_missing_database_url_is_named(db, monkeypatch):
    monkeypatch.delenv("DATABASE_URL")
    with pytest.raises(StepFailed, match="jobs freeze failed: DATABASE_URL is not set"):
        JobFreezeProvider().create({"rollout_id": "ro-1", "queue": {"backend": "postgres"}})


class Admin(BaseHTTPRequestHandler):
    calls: list[tuple[str, dict]] = []

    def log_message(self, *args) -> None:
        return

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Admin.calls.append((self.path, body))
        code = 500 if self.path.endswith("/fail/pause-all") else 400 if self.path.endswith("/bad/pause-all") else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def admin_url(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Admin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ADMIN_HOST", f"127.0.0.1:{server.server_port}")
    Admin.calls = []
    yield "http://${ADMIN_HOST}/api/queue"
    server.shutdown()


def test_http_backend_pause_flags_resume(admin_url):
    http = {"backend": "http", "admin_url": admin_url}
    JobFreezeProvider().create({"rollout_id": "ro-9", "queue": http})
    JobReleaseProvider().create({"rollout_id": "ro-9", "queue": http, "flags": {"workers": True}})
    assert Admin.calls == [("/api/queue/pause-all", {"rollout": "ro-9"}),
                           ("/api/queue/flags", {"flags": {"workers": True}}),
                           ("/api/queue/resume-all", {"rollout": "ro-9"})]
    with pytest.raises(StepFailed, match=r"pause-all answered HTTP 400"):  # refused: not retried
        JobFreezeProvider().create({"rollout_id": "ro-9", "queue": {**http, "admin_url": admin_url + "/bad"}})
    with pytest.raises(StepFailed, match=r"retry budget of 0.5s spent \(\d+ calls, \d+ retries.*last answer: POST "
                                         r"http://\$\{ADMIN_HOST\}/api/queue/fail/pause-all: HTTP 500"):
        JobFreezeProvider().create({"rollout_id": "ro-9", "queue": {**http, "admin_url": admin_url + "/fail"},
                                    "retry_budget": {"budget_ms": 500}})


def test_http_backend_rides_out_transient_answers_of_the_admin_api(admin_url, monkeypatch):
    from tests.fault_proxy import Fault, FaultProxy

    with FaultProxy(f"http://{os.environ['ADMIN_HOST']}") as proxy:
        monkeypatch.setenv("ADMIN_HOST", proxy.url.removeprefix("http://"))
        proxy.set(Fault(r"POST .*", ["503", "drop"]))
        http = {"backend": "http", "admin_url": admin_url}
        out = JobFreezeProvider().create({"rollout_id": "ro-7", "queue": http, "retry_budget": {"budget_ms": 5000}})
    assert Admin.calls == [("/api/queue/pause-all", {"rollout": "ro-7"})]  # paused once, after two transients
    assert (out.outs["retries"]["calls"], out.outs["retries"]["retries"]) == (3, 2)
