"""Job freeze/release providers: postgres control tables + worker_jobs (seed 000) and the http admin backend."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest

from components.providers.base import StepFailed
from components.providers.jobs import JobFreezeProvider, JobReleaseProvider, read_control

WORKER_JOBS = """
CREATE TABLE public.worker_jobs (id serial PRIMARY KEY, status text NOT NULL, error text,
  next_run_at timestamptz, updated_at timestamptz);
INSERT INTO public.worker_jobs (status) VALUES ('pending'), ('pending'), ('running'), ('failed');
"""


def statuses(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute("SELECT status FROM worker_jobs ORDER BY id")]


def test_freeze_then_release_postgres(db):
    with psycopg.connect(db) as conn:
        conn.execute(WORKER_JOBS)
    freeze = JobFreezeProvider().create({"backend": "postgres", "rollout_id": "ro-1", "admin_url": None})
    assert freeze.outs["frozen"] is True and freeze.outs["paused_jobs"] == 2
    assert statuses(db) == ["paused", "paused", "running", "failed"]
    assert read_control(db)["frozen"] is True

    release = JobReleaseProvider().create({"backend": "postgres", "rollout_id": "ro-1", "admin_url": None,
                                           "flags": {"workers": True, "cap": 5, "ratio": 0.5, "mode": "x"}})
    assert release.outs["frozen"] is False and release.outs["resumed_jobs"] == 2
    assert statuses(db) == ["pending", "pending", "running", "failed"]
    assert read_control(db) == {"rollout": "ro-1", "frozen": False,
                                "flags": {"cap": 5, "mode": "x", "ratio": 0.5, "workers": True}}

    # a flag the next target lacks is removed; refresh reads the live flags
    JobReleaseProvider().update("jobs", release.outs, {"backend": "postgres", "rollout_id": "ro-2",
                                                       "admin_url": None, "flags": {"workers": False}})
    assert read_control(db)["flags"] == {"workers": False}
    live = JobReleaseProvider().read("jobs", {"backend": "postgres", "flags": {}}).outs
    assert live["flags"] == {"workers": False} and live["frozen"] is False


def test_freeze_without_worker_jobs_table_and_diff_by_rollout(db):
    p = JobFreezeProvider()
    outs = p.create({"backend": "postgres", "rollout_id": "ro-1", "admin_url": None}).outs
    assert outs["paused_jobs"] == 0
    assert p.diff("f", outs, {**outs, "jobs_frozen_by": "whatever"}).changes is False
    assert p.diff("f", outs, {**outs, "rollout_id": "ro-2"}).changes is True
    r = JobReleaseProvider()
    wire = {"rollout_id": "a", "flags": {"n": 5.0}}  # numbers come back from the engine as doubles
    assert r.diff("r", {"rollout_id": "a", "flags": {"n": 5}}, wire).changes is False


def test_missing_database_url_is_named(db, monkeypatch):
    monkeypatch.delenv("DATABASE_URL")
    with pytest.raises(StepFailed, match="jobs freeze failed: DATABASE_URL is not set"):
        JobFreezeProvider().create({"backend": "postgres", "rollout_id": "ro-1", "admin_url": None})


class Admin(BaseHTTPRequestHandler):
    calls: list[tuple[str, dict]] = []

    def log_message(self, *args) -> None:
        return

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Admin.calls.append((self.path, body))
        code = 500 if self.path.endswith("/fail/pause-all") else 200
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
    JobFreezeProvider().create({"backend": "http", "rollout_id": "ro-9", "admin_url": admin_url})
    JobReleaseProvider().create({"backend": "http", "rollout_id": "ro-9", "admin_url": admin_url,
                                 "flags": {"workers": True}})
    assert Admin.calls == [("/api/queue/pause-all", {"rollout": "ro-9"}),
                           ("/api/queue/flags", {"flags": {"workers": True}}),
                           ("/api/queue/resume-all", {"rollout": "ro-9"})]
    with pytest.raises(StepFailed, match=r"pause-all answered HTTP 500"):
        JobFreezeProvider().create({"backend": "http", "rollout_id": "ro-9", "admin_url": admin_url + "/fail"})
