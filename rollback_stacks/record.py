"""Recording versions: `record` captures a new version document, `mark` changes a version's status.

`record` starts from --from-file (a version document; its version, created_at, status and every hash are
filled in), else from a copy of the stack's newest version, else (a new stack) from the stack's settings
(`rollback:migrationsDir`, `rollback:allowedDomains`, `rollback:vercelProject`), applies the captured values
(label, git sha, deployment id, schema version/range, function files, flags, Pulumi stack version), computes the
SQL hashes and schema fingerprint from the stack's files, and writes versions/NNNN.yaml plus the sums, validated first.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import subprocess
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rollback_stacks import consistency, docs, formats, store, sums, write
from rollback_stacks.errors import TargetError, problem
from rollback_stacks.model import FlagValue, Status, Version
from rollback_stacks.paths import migrations_path, safe_path

_PLACEHOLDER = "0" * 64
PREAMBLE = "preamble.sql"  # `rollback init --preamble FILE` copies it here


@dataclass(frozen=True)
class Capture:
    """What `rollback record` captures; None (or empty) keeps the base document's value."""

    label: str
    source: Path | None = None
    git_sha: str | None = None
    deployment_id: str | None = None
    schema_version: int | str | None = None  # a number, or a migration's full name in its tool's words
    requires_schema: tuple[int, int] | None = None
    functions: dict[str, str] = field(default_factory=dict)
    flags: dict[str, FlagValue] = field(default_factory=dict)
    status: Status = "candidate"
    stack_version: int | None = None
    base_version: int | None = None
    snapshot_reference: str | None = None


def _git_head(where: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=False)
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _section(data: dict[str, Any], name: str, option: str) -> dict[str, Any]:
    section = data.get(name)
    if not isinstance(section, dict):
        raise TargetError(problem("record", name, f"a `{name}:` section in the base version to apply {option} to",
                                  "use --from-file with a complete version document"))
    return section


def _base(rec: store.StackRecord, cap: Capture) -> dict[str, Any]:
    if cap.source is not None:
        doc = docs.read(cap.source)
        if not isinstance(doc.data, dict):
            raise TargetError(problem(cap.source, "(document)", "a mapping of version fields",
                                      "start from an existing version file", line=1))
        return copy.deepcopy(doc.data)
    if not rec.versions:
        return _first(rec, cap)
    base = cap.base_version if cap.base_version is not None else rec.versions[-1].version
    if base not in rec.documents:
        raise TargetError(problem(rec.shown("versions"), "", f"version {base} to copy", "pick a recorded version"))
    data: dict[str, Any] = copy.deepcopy(rec.documents[base].data)
    for key in ("version", "git_sha", "promoted_from", "status_history", "watches"):
        data.pop(key, None)
    data.update(_sections(rec, cap, have=data))
    if isinstance(data.get("snapshot"), dict):
        data["snapshot"]["reference"] = None
    return data


def _setting(rec: store.StackRecord, key: str, what: str, fix: str) -> Any:
    value = rec.settings.get(f"rollback:{key}")
    if value in (None, "", []):
        raise TargetError(problem(f"Pulumi.{rec.name}.yaml", f"rollback:{key}", what, fix, got="nothing"))
    return value


def _sections(rec: store.StackRecord, cap: Capture, have: Collection[str] = ()) -> dict[str, Any]:
    """The sections what was captured needs and `have` lacks, built from the stack's settings."""
    data: dict[str, Any] = {}
    if cap.schema_version is not None and "database" not in have:
        mdir = _setting(rec, "migrationsDir", "the migrations directory (relative to the repository)",
                        f"run `rollback init {rec.name} --migrations-dir DIR` or add the setting")
        rel = os.path.relpath(rec.repository / str(mdir), rec.dir).replace(os.sep, "/")
        data["database"] = {"migrations_dir": rel, "format": rec.settings.get("rollback:migrationsFormat",
                                                                              formats.DEFAULT),
                            "schema_version": cap.schema_version, "schema_fingerprint": _PLACEHOLDER}
        if (rec.dir / PREAMBLE).is_file():
            data["database"]["preamble"] = {"file": PREAMBLE, "sha256": _PLACEHOLDER}
    if cap.deployment_id is not None and "app" not in have:
        fix = f"add it to Pulumi.{rec.name}.yaml (see README: Adopting an existing application)"
        domains = _setting(rec, "allowedDomains", "the alias domains the stack moves", fix)
        project = _setting(rec, "vercelProject", "the Vercel project of the deployments", fix)
        data["app"] = {"project": project, "domains": list(domains), "deployment_id": cap.deployment_id}
    if cap.flags and "jobs" not in have:
        data["jobs"] = {"backend": "postgres", "flags": {}}
    return data


def _first(rec: store.StackRecord, cap: Capture) -> dict[str, Any]:
    """The first version of a new stack, from what was captured and the stack's settings."""
    data = _sections(rec, cap)
    if not data:
        raise TargetError(problem("record", rec.name, "something to record for a new stack",
                                  "pass --schema-version N, --deployment-id, --flag NAME=VALUE or --from-live "
                                  "(or --from-file with a version document)"))
    return data


def _apply(data: dict[str, Any], cap: Capture) -> None:
    if cap.deployment_id is not None:
        _section(data, "app", "--deployment-id")["deployment_id"] = cap.deployment_id
    if cap.requires_schema is not None:
        low, high = cap.requires_schema
        _section(data, "app", "--requires-schema")["requires_schema"] = {"min": low, "max": high}
    if cap.schema_version is not None:
        _section(data, "database", "--schema-version")["schema_version"] = cap.schema_version
    for name, rel in cap.functions.items():
        fns = _section(data, "database", "--function").setdefault("functions", {})
        fns[name] = {"file": rel, "sha256": _PLACEHOLDER}
    if cap.flags:
        _section(data, "jobs", "--flag").setdefault("flags", {}).update(cap.flags)
    if cap.snapshot_reference is not None:
        data["snapshot"] = {**(data.get("snapshot") or {}), "reference": cap.snapshot_reference}
    if cap.stack_version is not None:
        data["pulumi"] = {**(data.get("pulumi") or {}), "stack_version": cap.stack_version}


def _named(data: dict[str, Any], cap: Capture, rec: store.StackRecord) -> Capture:
    """The capture with --schema-version as a number, resolved from a migration's name in its tool's words."""
    if not isinstance(cap.schema_version, str):
        return cap
    db = _section(data, "database", "--schema-version")
    fmt = formats.get(str(db.get("format") or formats.DEFAULT))
    if fmt.name == formats.DEFAULT and cap.schema_version.strip().isdigit():
        return dataclasses.replace(cap, schema_version=int(cap.schema_version))  # a version: checked when validated
    mdir = migrations_path(rec.dir, str(db.get("migrations_dir", "")), rec.repository)
    try:
        _, listing = formats.read(fmt, mdir)
        number = listing.resolve(cap.schema_version)
    except formats.FormatError as err:
        raise TargetError(problem("record", "--schema-version", f"a {fmt.name} migration's number or full name",
                                  "pass one of the directory's migrations",
                                  got=f"{cap.schema_version!r}: {err}")) from None
    return dataclasses.replace(cap, schema_version=number)


def seal(data: dict[str, Any], stack_dir: Path, repo: Path) -> None:
    """Fill in a draft's SQL hashes and schema fingerprint from the stack's files (left to validation if absent)."""
    db = data.get("database")
    if not isinstance(db, dict) or not isinstance(db.get("schema_version"), int):
        return
    mdir = migrations_path(stack_dir, str(db.get("migrations_dir", "")), repo)
    fmt = str(db.get("format") or formats.DEFAULT)
    files, _ = consistency.migrations_upto(mdir, db["schema_version"], fmt)
    db["migrations"] = {name: sums.sha256_file(path) for name, path in sorted(files.items())}
    db["schema_fingerprint"] = sums.fingerprint(consistency.up_hashes(db["migrations"], fmt))
    pre = db.get("preamble")
    if isinstance(pre, dict) and isinstance(pre.get("file"), str):
        path = safe_path(stack_dir, pre["file"], field="database.preamble.file")
        pre["sha256"] = sums.sha256_file(path) if path.is_file() else _PLACEHOLDER
    for name, fn in (db.get("functions") or {}).items():
        if isinstance(fn, dict) and isinstance(fn.get("file"), str):
            path = safe_path(stack_dir, fn["file"], field=f"database.functions.{name}.file")
            fn["sha256"] = sums.sha256_file(path) if path.is_file() else _PLACEHOLDER


def ordered(data: dict[str, Any]) -> dict[str, Any]:
    """Top-level fields in the model's order (unknown ones last, for validation to name)."""
    keys = [k for k in Version.model_fields if k in data] + [k for k in data if k not in Version.model_fields]
    return {k: data[k] for k in keys}


def _write_version(scratch: Path, data: dict[str, Any]) -> None:
    (scratch / "versions").mkdir(exist_ok=True)  # a new stack has no versions/ yet
    (scratch / "versions" / f"{data['version']:04d}.yaml").write_text(docs.dump_version(ordered(data)),
                                                                     encoding="utf-8")


def record(stack: str, cap: Capture, *, root: Path | None = None, now: datetime | None = None) -> Version:
    """Capture a new version of a stack (validated before anything is written)."""
    rec = store.load(stack, root)
    number = (rec.versions[-1].version if rec.versions else 0) + 1
    data = _base(rec, cap)
    if data.get("version", number) != number:
        raise TargetError(problem(cap.source or "record", "version", f"{number} (the next version of {stack})",
                                  f"remove `version:` or set it to {number}", got=repr(data.get("version"))))
    git_sha = cap.git_sha or data.get("git_sha") or _git_head(rec.dir)
    if not git_sha:
        raise TargetError(problem("record", "git_sha", "the release's git commit", "pass --git-sha"))
    data.update(version=number, label=cap.label, git_sha=git_sha, status=cap.status, status_history=[],
                created_at=now or datetime.now(UTC))
    data.pop("watches", None)  # a --from-file document's passes are another version's
    _apply(data, _named(data, cap, rec))
    with write.transaction(rec) as scratch:
        seal(data, scratch, rec.repository)
        _write_version(scratch, data)
    return store.load(stack, root).find(str(number))


def mark(stack: str, ref: str, status: Status, reason: str, *, by: str | None = None, root: Path | None = None,
         now: datetime | None = None) -> Version:
    """Change a version's status, appending the change (at, status, reason, by) to its status_history."""
    rec = store.load(stack, root)
    version = rec.find(ref)
    if version.status == status:
        raise TargetError(f"version {version.version} ({version.label}) is already {status}; expected a different "
                          "--status; fix: choose another status or another version")
    if not reason.strip():
        raise TargetError("--reason: got an empty reason; expected why the status changes; fix: pass --reason '…'")
    data = copy.deepcopy(rec.documents[version.version].data)
    change = {"at": now or datetime.now(UTC), "previous": version.status, "status": status, "reason": reason.strip(),
              "by": by}
    data.update(status=status, status_history=[*(data.get("status_history") or []), change])
    with write.transaction(rec) as scratch:
        _write_version(scratch, data)
    return store.load(stack, root).find(str(version.version))


def watched(stack: str, number: int, passed: dict[str, Any], *, root: Path | None = None,
            now: datetime | None = None) -> Version:
    """Record a watch window the version's health held through (appended to `watches`); a candidate becomes
    known-good, recorded in its status_history as `mark` records it. A version marked bad meanwhile stays bad."""
    rec = store.load(stack, root)
    version = rec.find(str(number))
    if version.status == "bad":
        raise TargetError(f"version {version.version} ({version.label}) was marked bad during its watch; expected a "
                          "candidate or known-good version; fix: nothing recorded, mark it again if that was wrong")
    data = copy.deepcopy(rec.documents[version.version].data)
    at = now or datetime.now(UTC)
    data["watches"] = [*(data.get("watches") or []), {"at": at, **passed}]
    if version.status != "known-good":
        change = {"at": datetime.fromisoformat(at.isoformat()),  # an equal copy: YAML would alias the same object
                  "previous": version.status, "status": "known-good",
                  "reason": f"watch passed: {passed.get('samples')} samples over {passed.get('window_seconds'):g} s",
                  "by": passed.get("by")}
        data.update(status="known-good", status_history=[*(data.get("status_history") or []), change])
    with write.transaction(rec) as scratch:
        _write_version(scratch, data)
    return store.load(stack, root).find(str(version.version))
