"""`rollback export`: a prior checkpoint of a self-managed (DIY) backend, as `pulumi stack export` writes it.

Layout written by the engine (v3.259.0, verified in tests/operator/test_export_e2e.py): every operation adds
`.pulumi/history/<project>/<stack>/<stack>-<unix-nanos>.history.json` (its UpdateInfo) and a copy of the
stack's checkpoint after the operation, `<same prefix>.checkpoint.json` = `{"version": 3, "checkpoint":
{"stack": ..., "latest": <deployment>}}`; `.gz`/`.zst` when compression is enabled. The DIY backend writes
`"version": 0` into every history file (and `stack history` shows 0), so update N is the N-th history entry
in time order (1 = first), the numbering Pulumi Cloud uses; a nonzero recorded version wins if all have one.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from rollback.errors import RollbackError
from rollback.s3url import open_s3

HISTORY_SUFFIXES = (".history.json", ".history.json.gz", ".history.json.zst")


class Store(Protocol):
    """Read-only view of a backend's object store."""

    url: str

    def list(self, prefix: str) -> list[str]:
        """Keys directly under prefix (a folder path without trailing slash)."""

    def read(self, key: str) -> bytes:
        """Bytes of one object."""


class FileStore:
    """A file:// backend directory."""

    def __init__(self, url: str) -> None:
        """Root is the URL's path (`file://~/x` expands ~)."""
        self.url = url
        raw = url.removeprefix("file://")
        self.root = Path(os.path.expanduser(raw))
        if not self.root.is_dir():
            raise RollbackError(f"backend {url}: no such directory")

    def list(self, prefix: str) -> list[str]:
        """File names under root/prefix, as keys."""
        folder = self.root / prefix
        if not folder.is_dir():
            return []
        return sorted(f"{prefix}/{p.name}" for p in folder.iterdir() if p.is_file())

    def read(self, key: str) -> bytes:
        """The file's bytes."""
        return (self.root / key).read_bytes()


class S3Store:
    """An s3://bucket[/prefix][?region=..&endpoint=..] backend, read with boto3."""

    def __init__(self, url: str) -> None:
        """Parse bucket, prefix and the query parameters Pulumi's s3 URLs use."""
        self.url = url
        self.loc = open_s3(url)
        self.client, self.bucket, self.prefix = self.loc.client, self.loc.bucket, self.loc.prefix

    def _key(self, key: str) -> str:
        return self.loc.key(key)

    def list(self, prefix: str) -> list[str]:
        """Object keys directly under prefix, relative to the backend root."""
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix) + "/", Delimiter="/")
        for page in pages:
            keys += [obj["Key"] for obj in page.get("Contents", [])]
        cut = len(self.prefix) + 1 if self.prefix else 0
        return sorted(k[cut:] for k in keys)

    def read(self, key: str) -> bytes:
        """The object's bytes."""
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        return body


def open_store(backend_url: str | None) -> Store:
    """A store for a file:// or s3:// backend URL."""
    if not backend_url:
        raise RollbackError("no backend: pass --backend-url file://DIR (or set PULUMI_BACKEND_URL)")
    scheme = urlsplit(backend_url).scheme
    if scheme == "file":
        return FileStore(backend_url)
    if scheme == "s3":
        return S3Store(backend_url)
    raise RollbackError(f"backend {backend_url}: only file:// and s3:// self-managed backends are supported "
                        "(Pulumi Cloud has its own `pulumi stack export --version`)")


def _decode(key: str, data: bytes) -> Any:
    if key.endswith(".gz"):
        data = gzip.decompress(data)
    elif key.endswith(".zst"):
        raise RollbackError(f"{key}: zstd-compressed state is not supported; unset PULUMI_DIY_BACKEND_ZSTD")
    return json.loads(data)


@dataclass(frozen=True)
class HistoryEntry:
    """One operation of the stack's history and the checkpoint saved after it."""

    version: int
    kind: str
    result: str
    start_time: int
    end_time: int
    history_key: str
    checkpoint_key: str


def _split_stack(stack: str, project: str | None) -> tuple[str | None, str]:
    parts = stack.split("/")
    if len(parts) == 1:
        return project, parts[0]
    if len(parts) in (2, 3):
        return parts[-2], parts[-1]
    raise RollbackError(f"stack {stack!r}: use STACK, PROJECT/STACK or ORG/PROJECT/STACK")


def history_dir(store: Store, stack: str, project: str | None = None) -> str:
    """The stack's history folder: project-scoped layout first, then the legacy one."""
    project, name = _split_stack(stack, project)
    if project:
        return f".pulumi/history/{project}/{name}"
    found = [f".pulumi/history/{p}/{name}" for p in _projects(store) if store.list(f".pulumi/history/{p}/{name}")]
    if len(found) > 1:
        names = ", ".join(f.split("/")[2] for f in found)
        raise RollbackError(f"stack {name} exists in several projects ({names}): pass --project")
    if found:
        return found[0]
    return f".pulumi/history/{name}"


def _projects(store: Store) -> list[str]:
    """Project folders of a project-scoped backend (read from stacks/, which lists them as folders)."""
    if isinstance(store, FileStore):
        base = store.root / ".pulumi" / "history"
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    if isinstance(store, S3Store):
        prefix = store._key(".pulumi/history") + "/"
        resp = store.client.list_objects_v2(Bucket=store.bucket, Prefix=prefix, Delimiter="/")
        return sorted(p["Prefix"][len(prefix):].strip("/") for p in resp.get("CommonPrefixes", []))
    return []


def list_history(store: Store, stack: str, project: str | None = None) -> list[HistoryEntry]:
    """The stack's operations, oldest first, numbered as update versions."""
    folder = history_dir(store, stack, project)
    keys = store.list(folder)
    histories = sorted((k for k in keys if k.endswith(HISTORY_SUFFIXES)), key=_timestamp)
    infos = [_decode(k, store.read(k)) for k in histories]
    recorded = [int(i.get("version") or 0) for i in infos]
    numbers = recorded if all(recorded) else list(range(1, len(infos) + 1))
    entries = []
    for number, key, info in zip(numbers, histories, infos, strict=True):
        checkpoint = key.replace(".history.json", ".checkpoint.json")
        entries.append(HistoryEntry(version=number, kind=info.get("kind", ""), result=info.get("result", ""),
                                    start_time=int(info.get("startTime", 0)), end_time=int(info.get("endTime", 0)),
                                    history_key=key, checkpoint_key=checkpoint))
    return entries


def _timestamp(key: str) -> int:
    stem = key.rsplit("/", 1)[-1].split(".", 1)[0]
    try:
        return int(stem.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def _available(entries: list[HistoryEntry]) -> str:
    return ", ".join(f"{e.version} ({e.kind} {e.result})" for e in entries)


def export_version(store: Store, stack: str, version: int, project: str | None = None) -> dict[str, Any]:
    """Checkpoint `version` as `{"version": 3, "deployment": {...}}` (what `pulumi stack export` prints)."""
    entries = list_history(store, stack, project)
    if not entries:
        raise RollbackError(f"stack {stack}: no history in {store.url} (was it ever updated on this backend?)")
    match = [e for e in entries if e.version == version]
    if not match:
        raise RollbackError(f"stack {stack}: no version {version}; available versions: {_available(entries)}")
    try:
        data = _decode(match[0].checkpoint_key, store.read(match[0].checkpoint_key))
    except (FileNotFoundError, KeyError) as err:
        raise RollbackError(f"stack {stack} version {version}: checkpoint {match[0].checkpoint_key} missing") from err
    checkpoint = data.get("checkpoint") or {}
    out: dict[str, Any] = {"version": data.get("version", 3)}
    if data.get("features"):
        out["features"] = data["features"]
    out["deployment"] = checkpoint.get("latest") or {}
    return out


def render(deployment: dict[str, Any]) -> str:
    """JSON text formatted like `pulumi stack export` (4-space indent, trailing newline)."""
    return json.dumps(deployment, indent=4) + "\n"


def run(stack: str, version: int, *, backend_url: str | None, project: str | None = None,
        out: Path | None = None) -> None:
    """The `rollback export` command."""
    import re

    import typer

    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", stack):
        raise RollbackError(f"stack name {stack[:40]!r}: expected 1-100 letters, digits, '-', '_' or '.'.")
    text = render(export_version(open_store(backend_url), stack, version, project))
    if out:
        out.write_text(text)
        typer.echo(f"wrote version {version} of {stack} to {out}", err=True)
    else:
        typer.echo(text, nl=False)
