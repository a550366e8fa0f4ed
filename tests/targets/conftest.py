"""Fixtures for rollback targets: a scratch copy of the example stacks, directory snapshots, an in-process CLI."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from rollback.cli import main

REPO = Path(__file__).resolve().parents[2]
STACKS = REPO / "rollback_stacks"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the example stacks (and their Pulumi.<stack>.yaml) in tmp: tmp/rollback_stacks."""
    dest = tmp_path / "rollback_stacks"
    for name in ("local", "staging", "prod"):
        shutil.copytree(STACKS / name, dest / name)
    for pulumi in REPO.glob("Pulumi.*.yaml"):
        shutil.copy2(pulumi, tmp_path / pulumi.name)
    return dest


def snapshot(base: Path) -> dict[str, bytes]:
    """Every file under base, by relative path, with its bytes."""
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


@dataclass
class Result:
    """Exit code and captured output of one CLI run."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run `rollback ARGS…` in process through rollback.cli.main; returns a Result."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["rollback", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return Result(code, out, err)

    return run
