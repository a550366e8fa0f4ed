"""Versioned rollback targets: the record of known-good desired states under rollback_stacks/<stack>/.

Public API: load(stack, root=None) -> StackRecord (resolve, file, verify), TargetError, Version, fingerprint.
"""

from rollback_stacks.errors import TargetError
from rollback_stacks.model import Version
from rollback_stacks.store import StackRecord, load, stacks
from rollback_stacks.sums import fingerprint

__all__ = ["StackRecord", "TargetError", "Version", "fingerprint", "load", "stacks"]
