"""Database object steps: the target's function bodies (CREATE OR REPLACE, one transaction) and trigger states."""

from __future__ import annotations

from typing import Any

import psycopg
import psycopg.errors
import psycopg.sql
import pulumi
from pulumi.dynamic import ReadResult, Resource

from components import runtime_env
from components.providers import locks
from components.providers.base import StepProvider
from components.rollout import sha256_text

FUNCTION_SIGNATURES = """
SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = %s AND p.proname = %s
"""


def split_name(name: str) -> tuple[str, str]:
    """(schema, function) of a possibly schema-qualified name; public by default."""
    schema, _, fn = name.rpartition(".")
    return schema or "public", fn


def function_definitions(conn: psycopg.Connection, names: list[str]) -> dict[str, list[str]]:
    """pg_get_functiondef of every overload of each name (for drift checks and tests)."""
    out: dict[str, list[str]] = {}
    for name in names:
        schema, fn = split_name(name)
        rows = conn.execute("SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n "
                            "ON n.oid = p.pronamespace WHERE n.nspname = %s AND p.proname = %s ORDER BY 1",
                            (schema, fn)).fetchall()
        out[name] = [r[0] for r in rows]
    return out


def _run(conn: psycopg.Connection, statement: Any, what: str) -> None:
    """Execute, naming the object on failure; a lock timeout propagates unchanged (the lock budget retries it)."""
    try:
        conn.execute(statement)
    except psycopg.errors.LockNotAvailable:
        raise
    except psycopg.Error as err:
        raise ValueError(f"{what}: {err}") from err


class DbFunctionsProvider(StepProvider):
    """Creates or replaces every target function in one transaction; drops functions the target no longer has."""

    step = "database functions"
    keys = ("functions",)

    def apply(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """Verify each body's recorded sha256, then CREATE OR REPLACE all of them atomically."""
        functions: dict[str, dict[str, Any]] = news.get("functions") or {}
        for name, fn in sorted(functions.items()):
            if sha256_text(fn["sql"]) != fn["sha256"]:
                raise ValueError(f"function {name}: {fn['file']} differs from its recorded sha256 "
                                 f"{fn['sha256'][:12]}… (edited after it was recorded): refusing to apply")
        removed = sorted(set((olds or {}).get("functions") or {}) - set(functions))
        with locks.Guard(news.get("locks"), self.step) as guard, guard.connect(autocommit=True) as conn:
            def attempt() -> None:
                with conn.transaction():
                    for name in removed:
                        for (signature,) in conn.execute(FUNCTION_SIGNATURES, split_name(name)).fetchall():
                            conn.execute(f"DROP FUNCTION IF EXISTS {signature}")  # regprocedure text is quoted
                    for name, fn in sorted(functions.items()):
                        _run(conn, fn["sql"], f"function {name} ({fn['file']})")

            guard.run("replacing the target's functions", attempt)
        return {**news, "dropped": removed, "lock_waits": guard.outputs()}

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: which target functions exist live."""
        names = sorted(props.get("functions") or {})
        with psycopg.connect(runtime_env.database_url()) as conn:
            defs = function_definitions(conn, names)
        return ReadResult(id_, {**props, "missing": [n for n in names if not defs[n]]})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Destroying the stack leaves functions in place (the app depends on them)."""


class TriggerStatesProvider(StepProvider):
    """ALTER TABLE … ENABLE/DISABLE TRIGGER per the target, in one transaction."""

    step = "trigger states"
    keys = ("triggers",)

    def apply(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """Set each trigger's enabled state; a missing trigger or table is an error naming it."""
        triggers: dict[str, dict[str, Any]] = news.get("triggers") or {}
        with locks.Guard(news.get("locks"), self.step) as guard, guard.connect(autocommit=True) as conn:
            def attempt() -> None:
                with conn.transaction():
                    for name, trig in sorted(triggers.items()):
                        state = "ENABLE" if trig.get("enabled", True) else "DISABLE"
                        ident = psycopg.sql.SQL("ALTER TABLE {} {} TRIGGER {}").format(
                            psycopg.sql.Identifier(*trig["table"].split(".")), psycopg.sql.SQL(state),
                            psycopg.sql.Identifier(name))
                        _run(conn, ident, f"trigger {name} on {trig['table']}")

            guard.run("setting the target's trigger states", attempt)
        return {**news, "lock_waits": guard.outputs()}

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: live enabled state of each trigger."""
        live: dict[str, dict[str, Any]] = {}
        with psycopg.connect(runtime_env.database_url()) as conn:
            for name, trig in (props.get("triggers") or {}).items():
                row = conn.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
                                   (name, trig["table"])).fetchone()
                live[name] = {"table": trig["table"], "enabled": row is not None and row[0] != "D"}
        return ReadResult(id_, {**props, "triggers": live})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Destroying the stack leaves triggers as they are."""


class DbFunctions(Resource, module="rollback", name="DbFunctions"):
    """The target's function bodies."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(DbFunctionsProvider(), name, {"dropped": None, "lock_waits": None, **props}, opts)


class TriggerStates(Resource, module="rollback", name="TriggerStates"):
    """The target's trigger enable/disable states."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TriggerStatesProvider(), name, {"lock_waits": None, **props}, opts)
