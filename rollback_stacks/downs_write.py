"""Writing frozen downs (rollback_stacks.downs): a generated file recorded in rollback.sum, and the reviewed edits
of existing ones sealed there, each in a validated stack transaction (rollback_stacks.write)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rollback_stacks import downs, store, sums
from rollback_stacks import write as writing
from rollback_stacks.store import StackRecord


def write(rec: StackRecord, name: str, text: str) -> str:
    """Write downs/<name> in a validated transaction that records it in rollback.sum (replacing an older one)."""
    rel = f"{downs.DIR}/{name}"
    with writing.transaction(rec, resealed={rel}) as scratch:
        (scratch / downs.DIR).mkdir(exist_ok=True)
        (scratch / rel).write_text(text, encoding="utf-8")
    return rel


def unsealed(rec: StackRecord) -> list[str]:
    """The frozen downs whose content rollback.sum does not record (edited, added, or removed since)."""
    recorded, _, _ = sums.parse((rec.dir / sums.SUMS_FILE).read_text(encoding="utf-8", errors="replace"))
    on_disk = downs.paths(rec.dir)
    changed = [rel for rel, path in on_disk.items() if recorded.get(rel) != sums.sha256_file(path)]
    gone = [rel for rel in recorded if rel.startswith(f"{downs.DIR}/") and rel not in on_disk]
    return sorted({*changed, *gone})


def seal(stack: str, root: Path | None = None, check: Callable[[str, str], object] | None = None) -> list[str]:
    """Record the reviewed edits of a stack's frozen downs in rollback.sum, and nothing else: refused when another
    file differs from its record, or an edited down has no valid header or is not valid SQL (check(text, where):
    the caller's further check of an edited file, raising TargetError)."""
    rec = store.load(stack, root, verify=False)
    marker = f"{rec.shown()}/{downs.DIR}/"
    others = [p for p in sums.check(rec.dir, rec.shown(), rec.required_files()) if not p.startswith(marker)]
    if others:
        raise store.joined([*others, f"{rec.shown()}: `rollback downs seal` records frozen downs only; fix the "
                            "problem(s) above first"])
    changed = unsealed(rec)
    for rel in changed:
        if (rec.dir / rel).is_file():
            text = (rec.dir / rel).read_bytes().decode("utf-8")
            downs.parse(text, rec.shown(rel))
            if check is not None:
                check(text, rec.shown(rel))
    if changed:
        with writing.transaction(rec, resealed=set(changed)):
            pass
    return changed
