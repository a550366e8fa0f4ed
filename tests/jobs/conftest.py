"""Real queue workers for the job-backend e2e tests: Node's BullMQ worker from the pinned npm oracles."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sandbox.prereqs import node_oracles
from tests.components.e2e_support import rig as make_rig

HERE = Path(__file__).resolve().parent


@pytest.fixture
def rig(sandbox, engine_dir, backend_url):
    yield from make_rig(sandbox, backend_url)


@dataclass
class NodeWorker:
    """A running `bullmq_worker.mjs`: the JSON lines it printed, read by a thread."""

    proc: subprocess.Popen[str]
    events: list[dict[str, Any]] = field(default_factory=list)

    def read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.events.append(json.loads(line))

    def started(self, since: float = 0.0) -> list[str]:
        """Job ids the worker took (at or after `since`, ms epoch)."""
        return [e["id"] for e in list(self.events) if e["event"] == "start" and e["at"] >= since]

    def done(self) -> list[str]:
        return [e["id"] for e in list(self.events) if e["event"] == "done"]

    def wait_for(self, ids: set[str], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not ids <= set(self.done()):
            assert time.monotonic() < deadline, f"worker finished {self.done()}, not all of {sorted(ids)}"
            time.sleep(0.05)


@pytest.fixture
def bullmq_worker(sandbox) -> Iterator[Any]:
    """Start a BullMQ worker on the sandbox's Redis: `start(prefix, hold_ms, *queues)`."""
    modules = node_oracles()
    running: list[NodeWorker] = []

    def start(prefix: str, hold_ms: int, *queues: str) -> NodeWorker:
        proc = subprocess.Popen(["node", str(HERE / "bullmq_worker.mjs"), sandbox.redis_url, prefix, str(hold_ms),
                                 *queues], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "NODE_MODULES": str(modules)})
        worker = NodeWorker(proc)
        threading.Thread(target=worker.read, daemon=True).start()
        deadline = time.monotonic() + 20
        while not any(e["event"] == "ready" for e in list(worker.events)):
            assert proc.poll() is None and time.monotonic() < deadline, "the BullMQ worker did not start"
            time.sleep(0.05)
        running.append(worker)
        return worker

    yield start
    for worker in running:
        worker.proc.terminate()
        worker.proc.wait(timeout=10)
