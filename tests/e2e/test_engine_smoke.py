"""The real engine runs an inline program whose dynamic resource upserts a row in the sandbox database."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from pulumi.automation import EngineEvent, OpType

from rollback.workspace import open_stack
from tests.e2e.rowprovider import Row

pytestmark = pytest.mark.e2e


def _program(dsn: str, value: str) -> Any:
    def program() -> None:
        Row("greeting", dsn=dsn, key="greeting", value=value)

    return program


def _row(dsn: str) -> str | None:
    with psycopg.connect(dsn) as conn:
        exists = conn.execute("SELECT to_regclass('smoke_rows') IS NOT NULL").fetchone()[0]
        if not exists:
            return None
        found = conn.execute("SELECT value FROM smoke_rows WHERE key = 'greeting'").fetchone()
    return found[0] if found else None


def _ops(events: list[EngineEvent]) -> list[tuple[str, str]]:
    return [(e.resource_pre_event.metadata.op, e.resource_pre_event.metadata.type)
            for e in events if e.resource_pre_event and "dynamic" in e.resource_pre_event.metadata.type]


def test_preview_up_update_history_destroy(sandbox, engine_dir, backend_url):
    dsn, env = sandbox.database_url, sandbox.env()

    def stack(value: str):
        return open_stack("smoke", _program(dsn, value), backend_url=backend_url, env=env, project="smoke")

    events: list[EngineEvent] = []
    preview = stack("hello").preview(on_event=events.append)
    assert preview.change_summary.get(OpType.CREATE) == 2  # the stack itself and the row
    assert _ops(events) == [(OpType.CREATE, "pulumi-python:dynamic:Resource")]
    assert _row(dsn) is None

    up = stack("hello").up()
    assert up.summary.result == "succeeded"
    assert _row(dsn) == "hello"

    events.clear()
    preview = stack("bonjour").preview(on_event=events.append)
    assert preview.change_summary.get(OpType.UPDATE) == 1
    assert _ops(events) == [(OpType.UPDATE, "pulumi-python:dynamic:Resource")]

    events.clear()
    up = stack("bonjour").up(on_event=events.append)
    assert up.summary.resource_changes.get("update") == 1
    assert _row(dsn) == "bonjour"
    assert _ops(events) == [(OpType.UPDATE, "pulumi-python:dynamic:Resource")]

    history = stack("bonjour").history()
    assert [h.kind for h in history[:2]] == ["update", "update"]
    assert {h.result for h in history[:2]} == {"succeeded"}

    destroyed = stack("bonjour").destroy()
    assert destroyed.summary.result == "succeeded"
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM smoke_rows").fetchone()[0] == 0
