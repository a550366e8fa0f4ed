"""Versioned rollback targets: the record of known-good desired states under rollback_stacks/<stack>/.

Public API: load(stack, root=None) -> StackRecord (resolve, file, verify), TargetError, Version, fingerprint.
Its names are imported on first use, so `rollback_stacks.errors` (every layer's user error) costs no model import.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rollback_stacks.errors import TargetError
    from rollback_stacks.model import Version
    from rollback_stacks.store import StackRecord, load, stacks
    from rollback_stacks.sums import fingerprint

__all__ = ["StackRecord", "TargetError", "Version", "fingerprint", "load", "stacks"]
_HOME = {"TargetError": "errors", "Version": "model", "StackRecord": "store", "load": "store", "stacks": "store",
         "fingerprint": "sums"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value
