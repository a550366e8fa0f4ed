"""Automation API stacks running our Pulumi program inline against a self-managed backend."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from pulumi import automation as auto

from rollback.engine import cache_root, engine_env, pulumi_command

PROJECT = "rollback-as-code"


def workspace_dir(backend_url: str, stack: str) -> Path:
    """Persistent per-stack home dir: Pulumi.yaml and the stack's settings file with its passphrase salt."""
    parsed = urlparse(backend_url)
    if parsed.scheme == "file":
        base = Path(parsed.path) / ".workspaces"
    else:
        base = cache_root() / "workspaces" / hashlib.sha256(backend_url.encode()).hexdigest()[:16]
    path = base / stack
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_stack(stack: str, program: Callable[[], None], *, backend_url: str, env: Mapping[str, str],
               config: Mapping[str, str] | None = None, secret_config: Mapping[str, str] | None = None,
               project: str = PROJECT) -> auto.Stack:
    """Create or select `stack` on backend_url with program inline and the given config set.

    Each call works in a private copy of the stack's home dir, so concurrent processes (a status beside an
    apply, two contending applies) never read a half-written settings file or each other's target config.
    """
    home = workspace_dir(backend_url, stack)
    run = Path(tempfile.mkdtemp(prefix=f"rollback-{stack}-"))
    settings = auto.ProjectSettings(name=project, runtime="python", backend=auto.ProjectBackend(url=backend_url))
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(run),
        pulumi_command=pulumi_command(),
        project_settings=settings,
        env_vars={**engine_env(), **env, "PULUMI_BACKEND_URL": backend_url},
        secrets_provider="passphrase",
    )
    stack_file = f"Pulumi.{stack}.yaml"
    try:
        with _exclusive(home):  # the first creation writes the salt every later copy must share
            if (home / stack_file).exists():
                shutil.copyfile(home / stack_file, run / stack_file)
            st = auto.create_or_select_stack(stack_name=stack, project_name=project, program=program, opts=opts)
            for name in ("Pulumi.yaml", stack_file):
                if not (home / name).exists() and (run / name).exists():
                    _replace_atomically(run / name, home / name)
    except BaseException:
        shutil.rmtree(run, ignore_errors=True)
        raise
    weakref.finalize(st.workspace, shutil.rmtree, str(run), True)
    values = {k: auto.ConfigValue(v) for k, v in (config or {}).items()}
    values.update({k: auto.ConfigValue(v, secret=True) for k, v in (secret_config or {}).items()})
    if values:
        st.set_all_config(values)
    return st


@contextmanager
def _exclusive(home: Path) -> Iterator[None]:
    """Hold an flock on the home dir's `.lock` (released by the kernel if the process dies)."""
    fd = os.open(home / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _replace_atomically(source: Path, target: Path) -> None:
    """Copy source over target so readers see the old file or the whole new one."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.copyfile(source, partial)
    os.replace(partial, target)
