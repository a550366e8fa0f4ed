"""`rollback export STACK --version N` against a file:// backend written by the real engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rollback.engine import engine_env
from rollback.errors import RollbackError
from rollback.export import S3Store, export_version, list_history, open_store, render
from rollback.workspace import open_stack, workspace_dir
from tests.operator.tinyprogram import program

pytestmark = pytest.mark.e2e
ENV = {"PULUMI_CONFIG_PASSPHRASE": "export-test-passphrase"}


def _stack(backend_url: str, value: str):
    return open_stack("dev", program(value), backend_url=backend_url, env=ENV, project="exportdemo")


def pulumi_stack_export(engine_dir: Path, backend_url: str) -> str:
    """What the engine's own `pulumi stack export` prints for the stack now (secrets stay encrypted)."""
    env = {**engine_env(engine_dir), **ENV, "PULUMI_BACKEND_URL": backend_url, "HOME": os.environ["HOME"]}
    proc = subprocess.run([str(engine_dir / "pulumi"), "stack", "export", "--stack", "dev", "--non-interactive"],
                          cwd=workspace_dir(backend_url, "dev"), env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def two_ups(engine_dir, tmp_path_factory) -> tuple[str, Any, str]:
    """A backend after `up` with value v1, then with v2; returns its URL, the stack and `pulumi stack export`."""
    state = tmp_path_factory.mktemp("export") / "state"
    state.mkdir()
    url = f"file://{state}"
    for value in ("v1", "v2"):
        assert _stack(url, value).up().summary.result == "succeeded"
    return url, _stack(url, "v2"), pulumi_stack_export(engine_dir, url)


def _outputs(deployment: dict[str, Any]) -> dict[str, Any]:
    return {r["type"]: r.get("outputs", {}) for r in deployment["deployment"]["resources"]}


def _urns(deployment: dict[str, Any]) -> list[str]:
    return [r["urn"] for r in deployment["deployment"]["resources"]]


def test_engine_layout_is_what_export_reads(two_ups):
    url, st, _ = two_ups
    root = Path(url.removeprefix("file://")) / ".pulumi" / "history" / "exportdemo" / "dev"
    names = sorted(p.name for p in root.iterdir() if not p.name.endswith(".attrs"))
    assert len(names) == 4
    assert sum(n.endswith(".history.json") for n in names) == 2
    assert sum(n.endswith(".checkpoint.json") for n in names) == 2
    history = st.history()
    # the DIY backend records version 0 in every history file; update N is the N-th one
    assert [h.version for h in history] == [0, 0]
    entries = list_history(open_store(url), "dev")
    assert [e.version for e in entries] == [1, 2]
    assert [(e.kind, e.result) for e in entries] == [(h.kind, h.result) for h in reversed(history)]


def test_export_version_matches_history(two_ups):
    url, _, live = two_ups
    store = open_store(url)
    v1, v2 = export_version(store, "dev", 1), export_version(store, "dev", 2)
    assert v1["version"] == 3 and set(v1) == {"version", "deployment"}
    assert v2 == json.loads(live)  # the latest checkpoint is what `pulumi stack export` prints now
    assert render(v2) == live
    assert _outputs(v1)["pulumi:pulumi:Stack"] == {"release": "v1"}
    assert _outputs(v2)["pulumi:pulumi:Stack"] == {"release": "v2"}
    assert _outputs(v1)["pulumi-python:dynamic:Resource"]["value"] == "v1"
    assert _urns(v1) == _urns(v2)
    assert v1 != v2
    assert export_version(store, "exportdemo/dev", 1) == export_version(store, "organization/exportdemo/dev", 1) == v1


def test_unknown_version_lists_available_ones(two_ups):
    url, _, _ = two_ups
    with pytest.raises(RollbackError, match=r"no version 7; available versions: 1 \(update succeeded\), "
                                            r"2 \(update succeeded\)"):
        export_version(open_store(url), "dev", 7)


def test_unknown_stack_and_backend(two_ups, tmp_path):
    url, _, _ = two_ups
    with pytest.raises(RollbackError, match="stack nope: no history"):
        export_version(open_store(url), "nope", 1)
    with pytest.raises(RollbackError, match="no such directory"):
        open_store(f"file://{tmp_path}/absent")
    with pytest.raises(RollbackError, match="only file:// and s3://"):
        open_store("https://api.pulumi.com")


def test_cli_writes_the_file_and_errors_in_one_line(two_ups, tmp_path):
    url, _, _ = two_ups
    out = tmp_path / "v1.json"
    cmd = [sys.executable, "-c", "from rollback.cli import main; main()", "export", "dev"]
    proc = subprocess.run([*cmd, "--version", "1", "--backend-url", url, "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text()) == export_version(open_store(url), "dev", 1)
    assert out.read_text().startswith('{\n    "version": 3,\n    "deployment": {')
    proc = subprocess.run([*cmd, "--version", "9", "--backend-url", url], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip() == ("error: stack dev: no version 9; available versions: "
                                   "1 (update succeeded), 2 (update succeeded)")


def test_s3_backend(two_ups, monkeypatch):
    moto = pytest.importorskip("moto")
    url, _, _ = two_ups
    root = Path(url.removeprefix("file://"))
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        import boto3

        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="state")
        for path in root.rglob("*"):
            if path.is_file() and ".pulumi" in path.parts:
                s3.put_object(Bucket="state", Key=f"teams/a/{path.relative_to(root)}", Body=path.read_bytes())
        store = open_store("s3://state/teams/a?region=us-east-1")
        assert isinstance(store, S3Store)
        assert export_version(store, "dev", 1) == export_version(open_store(url), "dev", 1)
        assert [e.version for e in list_history(store, "dev")] == [1, 2]
