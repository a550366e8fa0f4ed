"""Locates the Pulumi engine and the environment it runs with (offline, no update checks)."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
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


def go_mod_version(go_mod: Path, module: str) -> str:
    """The version (`vX.Y.Z`) a go.mod of ours requires of a module."""
    for line in go_mod.read_text().splitlines():
        parts = line.split()
        if parts[:1] == [module]:
            return parts[1]
    raise RollbackError(f"{go_mod}: no {module} requirement")


def engine_version() -> str:
    """The pinned engine version (`vX.Y.Z`): the pkg/v3 requirement of tools/pulumi-engine/go.mod."""
    return go_mod_version(ENGINE_GO_MOD, "github.com/pulumi/pulumi/pkg/v3")


def cached_engine_dir() -> Path:
    """Where `make engine` puts the offline build: keyed like tools/pulumi-engine/build.sh (version, sources)."""
    here = ENGINE_GO_MOD.parent
    sources = ("go.mod", "go.sum", "main.go", "langhost/main.go", "build.sh")
    key = hashlib.sha256(b"".join((here / name).read_bytes() for name in sources)).hexdigest()[:12]
    return cache_root() / "engine" / f"{engine_version()}-{key}"


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
    env = {
        "PATH": path,
        "PYTHONPATH": pythonpath,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_PYTHON_CMD": sys.executable,  # the SDK's dynamic-provider launcher runs this interpreter
    }
    if Path(engine_dir).resolve() == (cached_engine_dir() / "bin").resolve():  # offline: no plugin downloads
        env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
    return env


def pulumi_command() -> PulumiCommand:
    """The Automation API's handle on the engine binary (version-checked once per process and binary)."""
    bin_dir = find_engine_dir()
    return _command(str(bin_dir.parent) if bin_dir.name == "bin" else None)


@functools.cache
def _command(root: str | None) -> PulumiCommand:
    """PulumiCommand runs `pulumi version` each time it is made (0.16 s): made once per engine root."""
    from pulumi.automation import PulumiCommand

    command = PulumiCommand(root=root)
    real = command.command if os.path.isabs(command.command) else shutil.which(command.command)
    if real:
        command.command = leashed(real)
    return command


def leashed(real: str) -> str:
    """A `pulumi` that is killed when the process that started it dies (Linux: setpriv --pdeathsig), so a killed
    `rollback apply` leaves no engine running on, holding a stack whose rollout lock nobody renews any more."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or not sys.platform.startswith("linux"):
        return real
    real = os.path.realpath(real)
    wrapper = cache_root() / "leash" / hashlib.sha256(f"{setpriv}:{real}".encode()).hexdigest()[:12] / "pulumi"
    if not wrapper.is_file():
        wrapper.parent.mkdir(parents=True, exist_ok=True)
        tmp = wrapper.with_name(f"pulumi.{os.getpid()}.tmp")
        tmp.write_text(f'#!/bin/sh\nexec {shlex.quote(setpriv)} --pdeathsig KILL -- {shlex.quote(real)} "$@"\n')
        tmp.chmod(0o755)
        tmp.replace(wrapper)
    return str(wrapper)


_GENERIC = ("update failed", "preview failed", "program failed with an unhandled exception",
            "an unhandled error occurred")
_PREFIXES = ("Exception calling application: ", "python inline source runtime error: ")
_MESSAGE = re.compile(r"^\s*(?:error:\s*)?(?:[A-Za-z_][\w.]*(?:Error|Exception|Refused|Failure|Setting)):\s*(.+)$"
                      r"|^\s*error:\s*(.+)$")


def summarize_engine_error(text: str) -> str:
    """The engine's meaningful error lines (program or provider messages), without stacks and boilerplate."""
    provided = list(dict.fromkeys(e.message for e in diagnostics_from_text(text) if e.message))
    if provided:  # resources' own messages, each on one line
        return "\n".join(provided)
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


MESSAGE_LIMIT = 600
STACK_TYPE = "pulumi:pulumi:Stack"
# what sits in front of a dynamic provider's exception text: the CLI's severity, the engine's gRPC status
# (provider crashes, older engines) and grpcio's wrapper for an exception raised in a handler
_WRAPPER = re.compile(r"^(?:error:\s*|rpc error: code = \w+ desc = |Exception calling application:\s*)")
_CARET = re.compile(r"^\s*\^\s*$")  # PostgreSQL's pointer under a `LINE n:` excerpt: meaningless once joined
_DIAG_HEAD = re.compile(r"^  (?P<type>\S+) \((?P<name>[^)]*)\):$")
_DIAG_BODY = re.compile(r"^    (?:(?P<severity>error|warning|info): )?(?P<text>.*)$")


@dataclass(frozen=True)
class StepError:
    """A step's own failure message, as the engine reported it for its resource."""

    name: str
    component: str
    message: str

    @classmethod
    def from_urn(cls, urn: str, message: str) -> StepError:
        """From a diagnostic event's urn (`urn:pulumi:<stack>::<project>::<type chain>::<name>`) and text."""
        from rollback.plan import component_of

        chain, name = urn.split("::")[2], urn.rsplit("::", 1)[-1]
        return cls(name, component_of(urn) or chain.rsplit(":", 1)[-1], provider_message(message))

    def __str__(self) -> str:
        return f"{self.name} ({self.component}): {self.message}"


def provider_message(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """A provider's error text on one line: engine and gRPC wrappers removed, lines joined, cut at limit."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip() and not _CARET.match(line)]
    msg = " ".join(lines)
    while (stripped := _WRAPPER.sub("", msg, count=1)) != msg:
        msg = stripped
    return msg if len(msg) <= limit else msg[:limit - 1].rstrip() + "…"


def step_error(diagnostics: list[tuple[str | None, str]], text: str = "") -> StepError | None:
    """The first resource (not the stack) that failed with its own message: from the engine's error diagnostic
    events ((urn, message) pairs) or else from the `Diagnostics:` section of the CLI's output (text)."""
    for urn, message in diagnostics:
        if urn and urn.count("::") >= 3 and urn.split("::")[2].rsplit("$", 1)[-1] != STACK_TYPE \
                and provider_message(message):
            return StepError.from_urn(urn, message)
    return next((found for found in diagnostics_from_text(text) if found.message), None)


def diagnostics_from_text(text: str) -> list[StepError]:
    """The resources' error entries of the CLI's `Diagnostics:` section (`  <type> (<name>):`, indented lines);
    the component is the resource's type there (the section names no parent)."""
    if "Diagnostics:" not in text:
        return []
    entries: list[tuple[str, str, str, list[str]]] = []
    head: re.Match[str] | None = None
    for line in text.split("Diagnostics:", 1)[1].splitlines():
        if line.strip() and not line.startswith(" "):
            break  # the next section (Outputs:, Resources:)
        if new := _DIAG_HEAD.match(line):
            head = new
        elif head is not None and (body := _DIAG_BODY.match(line)):
            if body["severity"]:
                entries.append((head["type"], head["name"], body["severity"], [body["text"]]))
            elif entries:
                entries[-1][3].append(body["text"])
    return [StepError(n, t.rsplit(":", 1)[-1], provider_message("\n".join(lines)))
            for t, n, sev, lines in entries if sev == "error" and t != STACK_TYPE]
