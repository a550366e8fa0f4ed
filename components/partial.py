"""Partial rollouts: the deployed target with only the selected components taken from the requested one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from components.target import ReleaseTarget

FIELDS = {
    "jobs": ("jobs_backend", "flags"),
    "alias": ("project", "domains", "deployment_id", "health", "app_of", "app_accepts"),  # the gate checks the app
    "health": ("health",),
    "schema": ("schema_version",),
    "dbobjects": ("functions", "triggers", "objects_of", "objects_accept"),
    "snapshot": (),
}


def merge(deployed: ReleaseTarget, requested: ReleaseTarget, selected: Sequence[str]) -> ReleaseTarget:
    """`deployed`, with the fields of the selected components taken from `requested` (SQL files: the union)."""
    unknown = sorted(set(selected) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown component(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    taken = {name: getattr(requested, name) for comp in selected for name in FIELDS[comp]}
    return replace(deployed, **taken, migrations_sql={**deployed.migrations_sql, **requested.migrations_sql},
                   checksums={**deployed.checksums, **requested.checksums})
