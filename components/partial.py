"""Partial rollouts: the deployed target with only the selected components taken from the requested one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from components.target import ReleaseTarget
from rollback_stacks.model import Version

FIELDS = {
    "jobs": ("jobs_backend", "flags"),
    "alias": ("project", "domains", "deployment_id", "health"),  # the health gate checks the app being served
    "health": ("health",),
    "schema": ("schema_version",),
    "dbobjects": ("functions", "triggers"),
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


def check_consistent(app_from: Version, schema_version: int | None) -> None:
    """Refuse an app whose declared schema range excludes the schema it would run against."""
    wanted = app_from.app.requires_schema if app_from.app else None
    if wanted is None or schema_version is None or wanted.min <= schema_version <= wanted.max:
        return
    raise ValueError(f"partial rollout refused: the app of {app_from.label} requires schema {wanted.min}..{wanted.max}"
                     f" but the schema would be at version {schema_version}; include `alias` (app) in --components "
                     "or choose components that keep them consistent.")
