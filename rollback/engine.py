"""Locates the Pulumi engine and the environment it runs with (offline, no update checks)."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rollback.errors import RollbackError

if TYPE_CHECKING:
    from pulumi.automation import PulumiCommand

REPO_ROOT = Path(__file__).resolve().parent.parent
ENGINE_GO_MOD = REPO_ROOT / "tools" / "pulumi-engine" / "go.mod"


class EngineMissing(RollbackError):
    """Neither a `pulumi` on PATH nor a cached offline build exists."""


def cache_root() -> Path:
    """Directory for expensive builds kept across clones (engine)."""
    return Path(os.environ.get("ROLLBACK_CACHE", Path.home() / ".cache" / "rollback-as-code"))


def engine_version() -> str:
    """The pinned engine version (`vX.Y.Z`): the pkg/v3 requirement of tools/pulumi-engine/go.mod."""
    for line in ENGINE_GO_MOD.read_text().splitlines():
        parts = line.split()
        if parts[:1] == ["github.com/pulumi/pulumi/pkg/v3"]:
            return parts[1]
    raise RollbackError(f"{ENGINE_GO_MOD}: no github.com/pulumi/pulumi/pkg/v3 requirement")


def cached_engine_dir() -> Path:
    """Where `make engine` puts the offline build for the pinned version."""
    return cache_root() / "engine" / engine_version()


def find_engine_dir() -> Path:
    """Directory holding the `pulumi` binary to use: PATH first, then the offline build."""
    on_path = shutil.which("pulumi")
    if on_path:
        return Path(on_path).resolve().parent
    cached = cached_engine_dir() / "bin"
    if (cached / "pulumi").is_file():
        return cached
    hint = "run `make engine` (builds it offline, needs Go)" if shutil.which("go") else (
        "install the Pulumi CLI, or install Go and run `make engine`"
    )
    raise EngineMissing(f"Pulumi engine not found (no `pulumi` on PATH, no build in {cached}): {hint}.")


def engine_env(engine_dir: Path | None = None) -> dict[str, str]:
    """Environment for engine processes: offline, our interpreter for dynamic providers."""
    engine_dir = engine_dir or find_engine_dir()
    path = os.pathsep.join([str(engine_dir), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    pythonpath = os.pathsep.join(p for p in [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")] if p)
    return {
        "PATH": path,
        "PYTHONPATH": pythonpath,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_ROLLBACK_PYTHON": sys.executable,
    }


def pulumi_command() -> PulumiCommand:
    """The Automation API's handle on the engine binary (version-checked)."""
    from pulumi.automation import PulumiCommand

    bin_dir = find_engine_dir()
    return PulumiCommand(root=str(bin_dir.parent)) if bin_dir.name == "bin" else PulumiCommand()


_GENERIC = ("update failed", "preview failed", "program failed with an unhandled exception",
            "an unhandled error occurred")
_PREFIXES = ("Exception calling application: ",)
_MESSAGE = re.compile(r"^\s*(?:error:\s*)?(?:[A-Za-z_][\w.]*(?:Error|Exception|Refused|Failure|Setting)):\s*(.+)$"
                      r"|^\s*error:\s*(.+)$")


def summarize_engine_error(text: str) -> str:
    """The engine's meaningful error lines (program or provider messages), without stacks and boilerplate."""
    body = text.split("Diagnostics:", 1)[-1]
    found: list[str] = []
    for line in body.splitlines():
        m = _MESSAGE.match(line)
        msg = (m.group(1) or m.group(2)).strip() if m else ""
        for prefix in _PREFIXES:
            msg = msg.removeprefix(prefix)
        if msg and not msg.lower().startswith(_GENERIC) and msg not in found:
            found.append(msg)
    if found:
        return "\n".join(found)
    last = (text.strip().splitlines() or ["the engine failed"])[-1].strip()
    last = re.sub(r"^(?:(?:stderr|error):\s*)+", "", last) or "the engine failed"
    if last.startswith("failed to load checkpoint: EOF"):
        last += (" (an update killed while writing the stack's checkpoint metadata leaves an empty "
                 "`.pulumi/stacks/<project>/<stack>.json.attrs` in a file:// backend; the next `rollback apply` "
                 "removes it under its rollout lock)")
    return last
