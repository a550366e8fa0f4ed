"""Automation API stacks running our Pulumi program inline against a self-managed backend."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlparse

from pulumi import automation as auto

from rollback.engine import cache_root, engine_env, pulumi_command

PROJECT = "rollback-as-code"


def workspace_dir(backend_url: str, stack: str) -> Path:
    """Persistent per-stack work dir (it keeps the stack's settings, e.g. the passphrase salt)."""
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
    """Create or select `stack` on backend_url with program inline and the given config set."""
    settings = auto.ProjectSettings(name=project, runtime="python", backend=auto.ProjectBackend(url=backend_url))
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(workspace_dir(backend_url, stack)),
        pulumi_command=pulumi_command(),
        project_settings=settings,
        env_vars={**engine_env(), **env, "PULUMI_BACKEND_URL": backend_url},
        secrets_provider="passphrase",
    )
    st = auto.create_or_select_stack(stack_name=stack, project_name=project, program=program, opts=opts)
    values = {k: auto.ConfigValue(v) for k, v in (config or {}).items()}
    values.update({k: auto.ConfigValue(v, secret=True) for k, v in (secret_config or {}).items()})
    if values:
        st.set_all_config(values)
    return st
