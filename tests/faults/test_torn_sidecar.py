"""A kill while the file:// backend writes a checkpoint's `.attrs` sidecar leaves it empty: apply repairs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi.automation import CommandError

from rollback.lock import repair_torn_sidecars
from rollback.workspace import open_stack
from tests.e2e.rowprovider import Row

pytestmark = [pytest.mark.faults, pytest.mark.e2e]


def test_torn_checkpoint_sidecar_is_repaired(sandbox, engine_dir, backend_url):
    def program() -> None:
        Row("torn", dsn=sandbox.database_url, key="torn", value="v1")

    stack = open_stack("local", program, backend_url=backend_url, env=sandbox.env(), project="torn")
    stack.up()
    sidecars = list(Path(backend_url[len("file://"):]).glob(".pulumi/stacks/*/local.json.attrs"))
    assert sidecars, "the file:// backend writes a metadata sidecar next to the checkpoint"
    sidecars[0].write_text("")  # what a SIGKILL inside the engine's setAttrs leaves behind
    with pytest.raises(CommandError, match="failed to load checkpoint: EOF"):
        stack.export_stack()
    notes = repair_torn_sidecars(backend_url, "local")
    assert notes and "local.json.attrs" in notes[0]
    assert stack.export_stack().deployment["resources"]
    assert stack.preview().change_summary == {"same": 2}  # the stack and the row: intact, nothing to do
    stack.destroy()
