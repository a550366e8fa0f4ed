"""A tiny inline program for the export tests: one dynamic resource that keeps its inputs, one output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult


class EchoProvider(ResourceProvider):
    """Stores its inputs as outputs; nothing outside the state changes."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_="echo", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds.get("value") != news.get("value"))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=news)


class Echo(Resource):
    """One echo resource."""

    def __init__(self, name: str, value: str) -> None:
        super().__init__(EchoProvider(), name, {"value": value})


def program(value: str) -> Callable[[], None]:
    """Program declaring Echo('release', value) and exporting `release`."""

    def run() -> None:
        Echo("release", value)
        pulumi.export("release", value)

    return run
