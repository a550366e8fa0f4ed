"""Shared plumbing of the component resources: the type token prefix and child resource options."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

TYPE_PREFIX = "rollback:components:"


def component_deps(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The resources a component was declared after; its step resources wait for them too."""
    deps = opts.depends_on if opts is not None else None
    if deps is None:
        return []
    return [d for d in (deps if isinstance(deps, Sequence) else [deps]) if isinstance(d, pulumi.Resource)]


def child_opts(parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = (),
               **extra: Any) -> pulumi.ResourceOptions:
    """Options of a step resource: parented to its component, after the given resources."""
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on), **extra)
