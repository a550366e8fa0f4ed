"""rollback:locks parsing (durations, ranges, refusals naming file and field) and the redaction of blockers' queries."""

from __future__ import annotations

import pytest

from components.lock_settings import LockSettingError, LockSettings, parse
from components.providers.locks import Blocker, redact


def test_defaults_and_durations():
    assert parse(None, stack="prod") == LockSettings(timeout=1.0, budget=30.0)
    assert parse({"timeout": "500ms", "budget": "2m"}, stack="prod") == LockSettings(timeout=0.5, budget=120.0)
    assert parse({"timeout": 2, "budget": "0s"}, stack="prod", cancel_blockers=True).props() == {
        "timeout_ms": 2000, "budget_ms": 0, "cancel_blockers": True}


@pytest.mark.parametrize(("raw", "message"), [
    ("1s", r"Pulumi.prod.yaml: rollback:locks must be a mapping"),
    ({"timeout": "1h"}, r"rollback:locks.timeout must be a duration from 10ms to 10s .* not '1h'"),
    ({"timeout": "fast"}, r"rollback:locks.timeout must be a duration"),
    ({"timeout": True}, r"rollback:locks.timeout must be a duration"),
    ({"budget": "-1s"}, r"rollback:locks.budget must be a duration from 0s to 30m"),
    ({"budget": "1d"}, r"rollback:locks.budget must be a duration"),
    ({"timeout": "1s", "retries": 3}, r"rollback:locks: retries unknown \(its fields: timeout, budget\)"),
])
def test_refusals_name_file_and_field(raw, message):
    with pytest.raises(LockSettingError, match=message):
        parse(raw, stack="prod")


def test_queries_of_blockers_show_no_literals():
    assert redact("UPDATE customers SET email = 'ann@example.com' WHERE id = 42") == (
        "UPDATE customers SET email = $1 WHERE id = $2")
    cut = redact("SELECT * FROM t WHERE card = '4111 1111 1111 1111' AND note = 'unterminated")
    assert "4111" not in cut and "unterminated" not in cut
    assert redact("SELECT $tag$secret$tag$, 3.14 FROM t WHERE x = " + "1 + " * 50).endswith("…")
    b = Blocker(pid=7, application_name="", state="idle in transaction", seconds=42.4, query="SELECT $1")
    assert b.describe() == "pid 7 (no application_name, idle in transaction for 42s: SELECT $1)"
