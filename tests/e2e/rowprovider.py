"""A one-row dynamic resource for the engine smoke test: upserts (key, value) into smoke_rows."""

from __future__ import annotations

from typing import Any

import psycopg
import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

DDL = "CREATE TABLE IF NOT EXISTS smoke_rows (key text PRIMARY KEY, value text NOT NULL)"
UPSERT = ("INSERT INTO smoke_rows (key, value) VALUES (%s, %s) "
          "ON CONFLICT (key) DO UPDATE SET value = excluded.value")


class RowProvider(ResourceProvider):
    """Keeps one row of smoke_rows equal to the resource's inputs."""

    def _upsert(self, props: dict[str, Any]) -> None:
        with psycopg.connect(props["dsn"]) as conn:
            conn.execute(DDL)
            conn.execute(UPSERT, (props["key"], props["value"]))

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._upsert(props)
        return CreateResult(id_=props["key"], outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in ("key", "value") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=["key"] if "key" in changed else [])

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._upsert(news)
        return UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        with psycopg.connect(props["dsn"]) as conn:
            conn.execute("DELETE FROM smoke_rows WHERE key = %s", (props["key"],))


class Row(Resource):
    """One row in smoke_rows."""

    def __init__(self, name: str, dsn: pulumi.Input[str], key: str, value: str,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(RowProvider(), name, {"dsn": dsn, "key": key, "value": value}, opts)
