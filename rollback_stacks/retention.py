"""Retention: keep the newest N known-good versions of a stack; never prune the deployed version or last-good.

Bad and candidate versions older than the oldest kept known-good version are pruned with it; newer ones stay.
Pruning removes version files (SQL files stay: later versions' migrations build on them) and updates the sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rollback_stacks import refs, store, write
from rollback_stacks.errors import TargetError
from rollback_stacks.model import Version


def plan(versions: Sequence[Version], retain: int, deployed: int | None = None) -> list[Version]:
    """The versions retention removes, oldest first."""
    if retain < 1:
        raise TargetError(f"retain: got {retain}; expected at least 1; fix: set rollback:retain to 1 or more")
    good = refs.known_good(versions)
    kept = {v.version for v in good[-retain:]}
    protected = {v.version for v in (refs.last_good(versions),) if v} | ({deployed} if deployed else set())
    oldest_kept = min(kept, default=None)
    return [v for v in sorted(versions, key=lambda v: v.version)
            if v.version not in protected | kept and oldest_kept is not None
            and (v.status == "known-good" or v.version < oldest_kept)]


def prune(stack: str, *, root: Path | None = None, retain: int | None = None, deployed: str | None = None,
          dry_run: bool = False) -> list[Version]:
    """Remove the versions retention does not keep (deployed: a ref naming the deployed version)."""
    rec = store.load(stack, root)
    current = rec.find(deployed).version if deployed else None
    doomed = plan(rec.versions, rec.retain if retain is None else retain, current)
    if doomed and not dry_run:
        with write.transaction(rec) as scratch:
            for v in doomed:
                (scratch / "versions" / f"{v.version:04d}.yaml").unlink()
    return doomed
