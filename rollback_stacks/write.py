"""Writing a stack: changes go to a scratch copy, which is resealed, fully validated, then copied back.

A refused change leaves the stack untouched. Changed files are replaced atomically one by one
(temp file + rename), deletions next, the sums file last.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from rollback_stacks import store, sums
from rollback_stacks.errors import problem
from rollback_stacks.store import StackRecord


@contextmanager
def transaction(rec: StackRecord, resealed: Collection[str] = ()) -> Iterator[Path]:
    """Yield a scratch copy of rec's stack directory; on a clean exit validate it and apply its changes.

    resealed: stack files whose recorded hash may change (frozen downs written or sealed by rollback_stacks.downs).
    """
    with tempfile.TemporaryDirectory(prefix="rollback-stack-") as tmp:
        root = Path(tmp) / rec.dir.parent.name
        scratch = root / rec.name
        shutil.copytree(rec.dir, scratch, symlinks=True)
        pulumi = rec.dir.parent.parent / f"Pulumi.{rec.name}.yaml"
        if pulumi.is_file():
            shutil.copy2(pulumi, Path(tmp) / pulumi.name)
        yield scratch
        _reseal(rec, store.load(rec.name, root, verify=False, repo=rec.repository), resealed)
        store.load(rec.name, root, repo=rec.repository)
        _apply(scratch, rec.dir)


def _reseal(before: StackRecord, draft: StackRecord, resealed: Collection[str] = ()) -> None:
    """Rewrite the draft's sums: recorded entries stay (and must still match), new referenced files are added."""
    old, _, _ = sums.parse((before.dir / sums.SUMS_FILE).read_text(encoding="utf-8"))
    entries = {rel: h for rel, h in old.items() if (draft.dir / rel).is_file()}
    changed = []
    for rel in draft.required_files():
        actual = sums.entry_hash(draft.dir, rel)
        if rel in old and old[rel] != actual and rel not in resealed:
            changed.append(problem(draft.shown(rel), "", "recorded files to stay unchanged",
                                   "record changes as a new version or a new SQL file", got="a change to it"))
        entries[rel] = actual
    if changed:
        raise store.joined(changed)
    (draft.dir / sums.SUMS_FILE).write_text(sums.render(entries), encoding="utf-8")


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _files(base: Path) -> dict[str, Path]:
    return {str(p.relative_to(base)): p for p in base.rglob("*") if p.is_file() and not p.is_symlink()}


def _apply(scratch: Path, target: Path) -> None:
    new, old = _files(scratch), _files(target)
    for rel, path in sorted(new.items()):
        if rel != sums.SUMS_FILE and (rel not in old or old[rel].read_bytes() != path.read_bytes()):
            _write_atomic(target / rel, path.read_bytes())
    for rel in sorted(set(old) - set(new)):
        old[rel].unlink()
    _write_atomic(target / sums.SUMS_FILE, (scratch / sums.SUMS_FILE).read_bytes())
