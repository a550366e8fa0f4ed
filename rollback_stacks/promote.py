"""Promote: copy a known-good version (and its SQL files) from one stack to another with the target's overrides.

The target's `overrides.yaml` (optional) is deep-merged onto the copied document: mappings merge, other values
(lists included) replace. The promoted version is recorded in the target as a new `candidate` (it has not run
there yet: deploy it as a release, then `rollback targets mark <stack> <N> --status known-good`), with
`promoted_from` naming its origin, a fresh created_at, and no snapshot reference or Pulumi stack version.
"""

from __future__ import annotations

import copy
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rollback_stacks import consistency, docs, record, store, write
from rollback_stacks.errors import TargetError, problem
from rollback_stacks.model import Version

OVERRIDES_FILE = "overrides.yaml"


def merge(base: Any, patch: Any) -> Any:
    """Deep merge: mappings merge key by key, anything else in patch replaces."""
    if isinstance(base, dict) and isinstance(patch, dict):
        return {**base, **{k: merge(base.get(k), v) for k, v in patch.items()}}
    return copy.deepcopy(patch)


def overrides(rec: store.StackRecord) -> dict[str, Any]:
    """The stack's overrides.yaml, or {}."""
    path = rec.dir / OVERRIDES_FILE
    if not path.exists():
        return {}
    data = docs.read(path, rec.shown(OVERRIDES_FILE)).data
    if not isinstance(data, dict):
        raise TargetError(problem(rec.shown(OVERRIDES_FILE), "(document)", "a mapping of version fields to override",
                                  "write fields like `app: {domains: [...]}`", line=1))
    return data


def promote(ref: str, *, source: str = "staging", target: str = "prod", root: Path | None = None,
            now: datetime | None = None) -> Version:
    """Copy the known-good version ref selects in source to target as a new candidate version."""
    if source == target:
        raise TargetError(f"--from and --to are both {source!r}; expected two different stacks; fix: e.g. "
                          "--from staging --to prod")
    src, dst = store.load(source, root), store.load(target, root)
    version = src.resolve(ref)
    clash = next((v for v in dst.versions if v.label == version.label), None)
    if clash is not None:
        raise TargetError(f"{dst.shown()}: label {version.label!r} is already version {clash.version} there; "
                          "expected a label new to the target; fix: promote another version")
    number = (dst.versions[-1].version if dst.versions else 0) + 1
    data = copy.deepcopy(src.documents[version.version].data)
    data.pop("watches", None)  # a watch passed on the source stack says nothing of the target's
    data.update(version=number, created_at=now or datetime.now(UTC), status="candidate", status_history=[],
                promoted_from={"stack": source, "version": version.version, "label": version.label},
                pulumi={"stack_version": None})
    if isinstance(data.get("snapshot"), dict):
        data["snapshot"]["reference"] = None
    data = merge(data, overrides(dst))
    with write.transaction(dst) as scratch:
        conflicts = []
        for rel in consistency.required_files(src.dir, version):
            into = scratch / rel
            if into.is_file() and into.read_bytes() != (src.dir / rel).read_bytes():
                conflicts.append(problem(dst.shown(rel), "", f"the same content as {src.shown(rel)}",
                                         "reconcile the two stacks' SQL files", got="different content"))
            elif not into.exists():
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src.dir / rel, into)
        if conflicts:
            raise store.joined(conflicts)
        record.seal(data, scratch, dst.repository)
        (scratch / "versions" / f"{number:04d}.yaml").write_text(docs.dump_version(record.ordered(data)),
                                                                 encoding="utf-8")
    return store.load(target, root).find(str(number))
