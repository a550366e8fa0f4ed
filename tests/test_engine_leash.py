"""The engine dies with the `rollback` process that started it (pdeathsig), whatever it was doing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from rollback.engine import leashed
from tests.processes import MARK, outliving

PARENT = """
import subprocess, sys, time
subprocess.Popen([sys.argv[1], "300"])  # a quiet, long-running child, as an engine inside a long step
time.sleep(300)
"""


def _orphan_after_parent_killed(command: str) -> list[tuple[int, str]]:
    mark = uuid.uuid4().hex
    parent = subprocess.Popen([sys.executable, "-c", PARENT, command], env={**os.environ, MARK: mark},
                              start_new_session=True)
    time.sleep(1.0)
    os.kill(parent.pid, signal.SIGKILL)  # the parent alone, as `kill -9 <rollback pid>`
    parent.wait()
    return outliving(mark, timeout=3)


def test_a_leashed_command_dies_with_its_parent(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ROLLBACK_CACHE", str(tmp_path))
    wrapper = leashed("/bin/sleep")
    assert wrapper != "/bin/sleep" and Path(wrapper).is_file()
    assert _orphan_after_parent_killed(wrapper) == []
    assert leashed("/bin/sleep") == wrapper  # made once, then reused
    # without the leash the same child outlives its parent: the check above can fail
    left = _orphan_after_parent_killed("/bin/sleep")
    assert len(left) == 1 and "sleep 300" in left[0][1]
