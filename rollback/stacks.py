"""Opens a stack's engine workspace: its Pulumi.<stack>.yaml settings, a target override, the backend."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from rollback.errors import RollbackError
from rollback_stacks import settings as stack_settings_schema

if TYPE_CHECKING:
    from pulumi import automation as auto

    from rollback_stacks.store import StackRecord

NAMESPACE = stack_settings_schema.NAMESPACE


def project_dir() -> Path:
    """The directory holding Pulumi.<stack>.yaml and rollback_stacks/ ($ROLLBACK_PROJECT_DIR, else this repo)."""
    from rollback_stacks.store import default_root

    return default_root().parent


def settings_file(stack: str, root: Path | None = None) -> Path:
    """The stack's settings file, Pulumi.<stack>.yaml."""
    return (root or project_dir()) / f"Pulumi.{stack}.yaml"


def write_settings(stack: str, settings: Mapping[str, Any], root: Path | None = None) -> Path | None:
    """Create Pulumi.<stack>.yaml with these rollback:* settings; None (nothing written) if it exists."""
    path = settings_file(stack, root)
    if path.exists():
        return None
    config = {f"{NAMESPACE}:{k}": v for k, v in settings.items()}
    text = (f"# Settings of stack {stack}, created by `rollback init` (README: Adopting an existing application).\n"
            + yaml.safe_dump({"config": config}, sort_keys=False, default_flow_style=None, width=4096))
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path


def stack_settings(stack: str, root: Path | None = None) -> dict[str, Any]:
    """The `rollback:*` settings of a stack, keys without the namespace."""
    root = root or project_dir()
    path = settings_file(stack, root)
    try:
        found = path.is_file()
    except (OSError, ValueError):  # a stack name too long for a file name, or holding a NUL byte
        found = False
    if not found:
        known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        raise RollbackError(f"unknown stack {stack!r}: no {path.name} (stacks: {', '.join(known) or 'none'}).")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise RollbackError(f"{path.name}: not valid YAML ({err}).") from None
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        raise RollbackError(f"{path.name}: expected a `config:` mapping with rollback:* keys.")
    prefix = f"{NAMESPACE}:"
    return stack_settings_schema.parse(
        {k[len(prefix):]: v for k, v in config.items() if isinstance(k, str) and k.startswith(prefix)}, stack=stack)


def record_settings(record: StackRecord) -> dict[str, Any]:
    """The `rollback:*` settings of a loaded record (Pulumi.<stack>.yaml, read and validated with it by
    rollback_stacks.load), keys without the namespace: what stack_settings returns, without reading the file again."""
    path = settings_file(record.name, record.repository)
    if not path.is_file():  # the record loads without one; a rollout needs it, as stack_settings says
        stack_settings(record.name, record.repository)
    prefix = f"{NAMESPACE}:"
    return {k[len(prefix):]: v for k, v in record.settings.items() if isinstance(k, str) and k.startswith(prefix)}


def backend_url(env: Mapping[str, str] | None = None) -> str:
    """The state backend from PULUMI_BACKEND_URL, or an error saying how to get one."""
    url = (env if env is not None else os.environ).get("PULUMI_BACKEND_URL", "")
    if not url:
        raise RollbackError('no state backend: set PULUMI_BACKEND_URL (for the local stack: '
                            'eval "$(rollback sandbox env)").')
    return url


def open_release_stack(record: StackRecord, *, target: str | None = None, env: Mapping[str, str] | None = None,
                       overrides: Mapping[str, Any] | None = None) -> auto.Stack:
    """The stack's workspace running our program, configured from Pulumi.<stack>.yaml (+ overrides). The program
    declares the release from this record: a preview or update of the rollout does not read the stack again."""
    import functools

    from components.program import pulumi_program
    from rollback.workspace import open_stack

    env = dict(env if env is not None else os.environ)
    return open_stack(record.name, functools.partial(pulumi_program, record=record), backend_url=backend_url(env),
                      env=env, config=release_config(record, target=target, overrides=overrides))


def _setting_parsers() -> dict[str, Callable[..., Any]]:
    """The structured rollback:* settings and the components' parsers that validate them."""
    from components import jobs_settings, lock_settings, retry_settings, vercel_settings

    return {"jobs": jobs_settings.parse, "vercel": vercel_settings.parse, "locks": lock_settings.parse,
            "retries": retry_settings.parse}


def release_config(record: StackRecord, *, target: str | None = None, overrides: Mapping[str, Any] | None = None
                   ) -> dict[str, str]:
    """The program's config: Pulumi.<stack>.yaml's rollback:* settings, the overrides, and the target."""
    stack = record.name
    merged = {**record_settings(record), **(overrides or {})}
    for key, parse in _setting_parsers().items():  # refused here, before any engine run, with the file and field
        if key in merged:
            try:
                parse(merged[key], stack=stack)
            except ValueError as err:  # each parser's own error (JobsSettingError, ...) names file and field
                raise RollbackError(f"{err}.") from None
    if target is not None:
        merged["target"] = target
    return stack_settings_schema.config_values(merged)


def retry_budget(record: StackRecord) -> float:
    """The stack's retry budget per step in seconds (rollback:retries.budget; the default when unset), for what
    the verbs call outside the engine (the s3:// rollout lock); refused naming the file and the field."""
    from components import retry_settings

    stack = record.name
    raw = stack_settings_schema.parse({"retries": record_settings(record).get("retries")}, stack=stack)
    try:
        return retry_settings.parse(raw.get("retries"), stack=stack).budget
    except retry_settings.RetrySettingError as err:
        raise RollbackError(f"{err}.") from None
