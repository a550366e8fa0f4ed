"""Every open_stack works in a private dir: concurrent processes never share a half-written settings file."""

from __future__ import annotations

import gc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pulumi
import pytest

from rollback.workspace import open_stack, workspace_dir
from tests.operator.tinyprogram import program

pytestmark = pytest.mark.e2e
ENV = {"PULUMI_CONFIG_PASSPHRASE": "workspace-test-passphrase"}


def _open(backend_url: str, target: str):
    return open_stack("dev", program("v"), backend_url=backend_url, env=ENV, project="wsdemo",
                      config={"wsdemo:target": target})


def test_concurrent_opens_on_a_fresh_backend_all_succeed_and_keep_their_own_config(engine_dir, backend_url):
    with ThreadPoolExecutor(max_workers=6) as pool:
        stacks = list(pool.map(lambda i: _open(backend_url, f"t{i}"), range(6)))
    assert [s.get_config("wsdemo:target").value for s in stacks] == [f"t{i}" for i in range(6)]
    dirs = {s.workspace.work_dir for s in stacks}
    assert len(dirs) == 6 and str(workspace_dir(backend_url, "dev")) not in dirs
    home = workspace_dir(backend_url, "dev")
    assert "encryptionsalt" in (home / "Pulumi.dev.yaml").read_text()
    assert "wsdemo:target" not in (home / "Pulumi.dev.yaml").read_text()  # a rollout's config stays private
    salts = {(Path(d) / "Pulumi.dev.yaml").read_text().split("encryptionsalt:")[1].split()[0] for d in dirs}
    assert len(salts) == 1  # every copy encrypts with the salt of the one stack


def test_a_secret_written_through_one_workspace_is_read_through_another(engine_dir, backend_url):
    def secret_program() -> None:
        pulumi.export("token", pulumi.Output.secret("s3cr3t-value"))

    first = open_stack("dev", secret_program, backend_url=backend_url, env=ENV, project="wsdemo")
    assert first.up().summary.result == "succeeded"
    second = open_stack("dev", secret_program, backend_url=backend_url, env=ENV, project="wsdemo")
    out = second.outputs()["token"]
    assert out.secret and out.value == "s3cr3t-value"


def test_the_private_dir_is_removed_with_its_stack(engine_dir, backend_url):
    st = _open(backend_url, "x")
    run = Path(st.workspace.work_dir)
    assert run.is_dir()
    del st
    gc.collect()
    assert not run.exists()
