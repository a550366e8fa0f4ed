"""Pulumi mocks that record every registration (type, name, parent, dependencies, options, inputs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs, Mocks

OUTPUTS = {
    "pulumi-python:dynamic/rollback:PgDumpSnapshot": {"reference": "s3://rollback-snapshots/local/mock.dump"},
    "pulumi-python:dynamic/rollback:SchemaMigration": {"version": None},
    "pulumi-python:dynamic/rollback:JobRelease": {"frozen": False},
    "pulumi-python:dynamic/rollback:JobFreeze": {"frozen": True, "freeze_token": "ro-mock@2026-01-01T00:00:00Z#1"},
    "aws:rds/snapshot:Snapshot": {"dbSnapshotArn": "arn:aws:rds:us-east-1:1:snapshot:mock"},
}


@dataclass
class Registered:
    """One RegisterResource call as the engine would receive it."""

    type: str
    name: str
    urn: str
    parent: str
    dependencies: list[str]
    inputs: dict[str, Any]
    retain_on_delete: bool
    delete_before_replace: bool | None
    custom: bool
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)


class RecordingMocks(Mocks):
    """Resources echo their inputs plus the canned outputs above."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        state = {**args.inputs, **OUTPUTS.get(args.typ, {})}
        if args.typ == "pulumi-python:dynamic/rollback:SchemaMigration":
            state["version"] = args.inputs.get("target_version")
        return f"{args.name}-id", state

    def call(self, args: Any) -> tuple[dict, list]:
        return {}, []


class RecordingMonitor(MockMonitor):
    """Keeps every registration request in order."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            dbr = request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None
            self.registered.append(Registered(
                type=request.type, name=request.name, urn=response.urn, parent=request.parent,
                dependencies=sorted(request.dependencies), inputs=plain(rpc.deserialize_properties(request.object)),
                retain_on_delete=bool(request.retainOnDelete), delete_before_replace=dbr, custom=request.custom,
                property_dependencies={k: sorted(v.urns) for k, v in request.propertyDependencies.items()}))
        return response

    def by_name(self, name: str) -> Registered:
        """The registration of the resource called name."""
        return next(r for r in self.registered if r.name == name)

    def deps(self, name: str) -> set[str]:
        """Names of the resources name depends on."""
        names = {r.urn: r.name for r in self.registered}
        return {names.get(u, u) for u in self.by_name(name).dependencies}


def plain(value: Any) -> Any:
    """value with secret wrappers removed (aws marks ssm Parameter values secret)."""
    if isinstance(value, dict):
        if rpc._special_sig_key in value and value[rpc._special_sig_key] == rpc._special_secret_sig:
            return plain(value["value"])
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def use_mocks(stack: str = "local", preview: bool = False) -> RecordingMonitor:
    """Install fresh recording mocks and return the monitor."""
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="rollback-as-code", stack=stack, preview=preview, monitor=monitor)
    return monitor
