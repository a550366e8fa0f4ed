"""Integrity: sha256 of SQL files and version documents, the schema fingerprint, and the per-stack sums file.

`rollback.sum` (like atlas.sum) has one line `<sha256>  <path>` per recorded file (paths relative to the
stack directory, sorted), then `total <sha256>` over all those lines. A version document's hash covers its
parsed content with `status` replaced by its initial value (`previous` of the first `status_history` entry) and
without `status_history` and `watches`: `rollback targets mark` may change the status only by recording the change,
`rollback watch` may only add the windows the version passed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rollback_stacks import docs
from rollback_stacks.errors import TargetError, problem

SUMS_FILE = "rollback.sum"
MUTABLE_FIELDS = ("status", "status_history", "watches")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    return str(value)


def document_hash(data: Mapping[str, Any]) -> str:
    """Hex sha256 of a version document's canonical JSON, with its initial status and no status history."""
    history = data.get("status_history")
    first = history[0] if isinstance(history, list) and history else None
    content = {k: v for k, v in data.items() if k not in MUTABLE_FIELDS}
    content["status"] = first.get("previous") if isinstance(first, dict) else data.get("status")
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(canonical.encode()).hexdigest()


def fingerprint(up_hashes: Iterable[tuple[int, str]]) -> str:
    """Schema fingerprint: sha256 over `<version, at least 4 digits> <sha256 of its up file>\\n` in version order.

    Computable offline from the migration files and, for a live database, from the up-file hashes of
    the migrations it has applied (golang-migrate applies them in version order, so the list is a prefix).
    """
    lines = "".join(f"{n:04d} {h}\n" for n, h in up_hashes)
    return hashlib.sha256(lines.encode()).hexdigest()


def render(entries: Mapping[str, str]) -> str:
    """The sums file text for path -> sha256 entries."""
    body = "".join(f"{entries[p]}  {p}\n" for p in sorted(entries))
    return body + f"total {hashlib.sha256(body.encode()).hexdigest()}\n"


def parse(text: str) -> tuple[dict[str, str], str | None, list[tuple[int, str]]]:
    """Entries, the recorded total (None if absent) and (line, text) of unparsable lines."""
    entries: dict[str, str] = {}
    total: str | None = None
    bad: list[tuple[int, str]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if len(parts) == 2 and parts[0] == "total":
            total = parts[1]
        elif len(parts) == 2 and len(parts[0]) == 64 and parts[1] not in entries:
            entries[parts[1]] = parts[0]
        elif line.strip():
            bad.append((n, line))
    return entries, total, bad


def total_ok(text: str) -> bool:
    """Whether the sums file's total line matches its entry lines."""
    entries, total, _ = parse(text)
    return total is not None and render(entries) == text


def entry_hash(stack_dir: Path, rel: str, parsed: Mapping[str, Any] | None = None) -> str:
    """The recorded hash of a stack file: document_hash for versions/*.yaml, sha256 of the bytes otherwise.

    parsed: version documents already read from disk by the caller (rel -> data), so they are not parsed twice.
    """
    path = stack_dir / rel
    if rel.startswith("versions/"):
        data = parsed[rel] if parsed is not None and rel in parsed else docs.read(path, rel).data
        return document_hash(data if isinstance(data, dict) else {"": data})
    return sha256_file(path)


def check(stack_dir: Path, where: str, required: Iterable[str], *,
          parsed: Mapping[str, Any] | None = None) -> list[str]:
    """Problems of the stack's sums file against the files on disk and the files versions reference."""
    sums_path = stack_dir / SUMS_FILE
    shown = f"{where}/{SUMS_FILE}"
    if not sums_path.is_file():
        return [problem(shown, "", "the stack's sums file", "restore it from git (it is written by `rollback record`)",
                        got="no such file")]
    text = sums_path.read_text(encoding="utf-8", errors="replace")
    entries, _, bad = parse(text)
    out = [problem(shown, "", "`<sha256>  <path>` or `total <sha256>`", "restore the file from git", line=n,
                   got=repr(line[:60])) for n, line in bad]
    if not bad and not total_ok(text):
        out.append(problem(shown, "total", "the total over the lines above it", "restore the file from git; "
                           "rollback.sum is only written by the rollback verbs", got="a mismatch (hand edit?)"))
    for rel, recorded in sorted(entries.items()):
        if not (stack_dir / rel).is_file():
            out.append(problem(f"{where}/{rel}", "", "the recorded file", "restore it from git", got="no such file"))
            continue
        try:
            actual = entry_hash(stack_dir, rel, parsed)
        except TargetError as err:
            out.append(str(err))
            continue
        if actual != recorded:
            what = ("only status changes (via `rollback targets mark`)" if rel.startswith("versions/")
                    else "reviewed edits only (sealed)" if rel.startswith("downs/")
                    else "no change: recorded files are immutable")
            out.append(problem(f"{where}/{rel}", "", f"the content recorded in {SUMS_FILE}: {what}",
                               _sealed(where) if rel.startswith("downs/") else
                               "revert the edit (git checkout -- <file>); record changes as a new version",
                               got=f"changed since it was recorded (sha256 {actual[:12]}…, recorded {recorded[:12]}…)"))
    for rel in sorted(set(required) - set(entries)):
        out.append(problem(f"{where}/{rel}", "", f"an entry in {SUMS_FILE}", _sealed(where) if rel.startswith(
            "downs/") else "add versions and SQL files only through `rollback record` / `rollback targets promote`",
            got="an unrecorded file"))
    return out


def _sealed(where: str) -> str:
    """The fix for a frozen down (downs/) edited or added by hand: review it, then seal it."""
    return (f"revert the edit (git checkout -- <file>), or review it and record it with `rollback downs seal "
            f"{where.rsplit('/', 1)[-1]}`")
