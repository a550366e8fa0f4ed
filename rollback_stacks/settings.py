"""The stack settings (`rollback:*` in Pulumi.<stack>.yaml): each key's shape, read the same by program and verbs.

A value may arrive as YAML wrote it (`retain: 20`, `components: [jobs, schema]`) or as `pulumi config set` stores
it and the engine hands it to the program: a string (`"20"`, `"true"`, a JSON list or object). Both are accepted;
anything else is refused with the file, the key and the command that fixes it, never replaced by a default.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rollback_stacks import watch_settings
from rollback_stacks.errors import SettingError, problem

NAMESPACE = "rollback"
__all__ = ["NAMESPACE", "SETTINGS", "Setting", "SettingError", "config_values", "parse"]


@dataclass(frozen=True)
class Setting:
    """One key: what it holds (for messages), how a raw value becomes that, and an example fix value."""

    expected: str
    parse: Callable[[Any], Any]
    example: str


def _text(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise TypeError


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise TypeError


def _int(minimum: int | None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or (minimum is not None and value < minimum):
            raise TypeError
        return value
    return parse


def _positive_float(value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise TypeError from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise TypeError
    return float(value)


def _decoded(value: Any) -> Any:
    """A JSON list or object that `pulumi config set` stored as a string, decoded; other values unchanged."""
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise TypeError from None
    return value


def _names(value: Any) -> list[str]:
    value = _decoded(value)
    if isinstance(value, str):  # `pulumi config set rollback:allowedDomains a.test,b.test`
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TypeError
    return [v.strip() for v in value]


def _mapping(value: Any) -> dict[str, Any]:
    value = _decoded(value)
    if not isinstance(value, dict):
        raise TypeError
    return value


def _data_loss(value: Any) -> dict[str, str]:
    """rollback:dataLoss: {dynamicSql: refuse | allow} (README: Data loss); nothing else."""
    got = _mapping(value)
    if set(got) - {"dynamicSql"} or got.get("dynamicSql", "refuse") not in ("refuse", "allow"):
        raise TypeError
    return {str(k): str(v) for k, v in got.items()}


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value)
        if text in choices or any(c.endswith(":") and text.startswith(c) and len(text) > len(c) for c in choices):
            return text
        raise TypeError
    return parse


SETTINGS: dict[str, Setting] = {
    "target": Setting("a version, a label (v1.4.2) or a relative ref (last-good, previous, latest)", _text,
                      "last-good"),
    "components": Setting("a list of component names", _names, '--path "rollback:components[0]" schema'),
    "allowDataLoss": Setting("true or false", _bool, "true"),
    "dataLoss": Setting("a mapping {dynamicSql: refuse or allow} (README: Data loss)", _data_loss,
                        "--path rollback:dataLoss.dynamicSql allow"),
    "allowedDomains": Setting("a list of domains", _names, '--path "rollback:allowedDomains[0]" app.example.com'),
    "retain": Setting("a whole number ≥ 1 of known-good versions to keep", _int(1), "20"),
    "migrationsDir": Setting("a directory relative to the repository", _text, "db/migrations"),
    "migrationsFormat": Setting("golang-migrate, drizzle, prisma or supabase",
                                _choice("golang-migrate", "drizzle", "prisma", "supabase"), "drizzle"),
    "vercelProject": Setting("the Vercel project name or id", _text, "web"),
    "snapshotDestination": Setting("s3 or dir:/path", _choice("s3", "dir:"), "s3"),
    "snapshot": Setting("full, kept or storage (README: Kept values)", _choice("full", "kept", "storage"), "kept"),
    "rdsInstance": Setting("an RDS DB instance identifier", _text, "app-db"),
    "healthBudgetSeconds": Setting("a number of seconds > 0", _positive_float, "300"),
    "maintenanceDeployment": Setting("a deployment id of the stack's Vercel project", _text, "dpl_maintenance"),
    "jobs": Setting("a mapping (README: Job queues)", _mapping, "--path rollback:jobs.backend sql"),
    "vercel": Setting("a mapping (README: Vercel)", _mapping, "--path rollback:vercel.teamId team_123"),
    "locks": Setting("a mapping (README: Lock budget)", _mapping, "--path rollback:locks.timeout 2s"),
    "retries": Setting("a mapping (README: Retry budget)", _mapping, "--path rollback:retries.budget 2m"),
    "thresholds": Setting("a mapping (README: Decide)", _mapping, "--path rollback:thresholds.errorRate 0.05"),
    "watch": Setting("a mapping {window, interval, requireWatched} (README: The watch window)", _mapping,
                     "--path rollback:watch.window 15m"),
    # set by our verbs for one run (apply flags), accepted in the file as well
    "deployed": Setting("a recorded version number", _int(None), "3"),
    "allowCandidate": Setting("true or false", _bool, "true"),
    "partial": Setting("a list of component names", _names, '--path "rollback:partial[0]" schema'),
    "deployedPartial": Setting("a mapping", _mapping, "--path rollback:deployedPartial.version 3"),
    "maintenance": Setting("true or false", _bool, "true"),
    "cancelBlockers": Setting("true or false", _bool, "true"),
}


def _shown(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "…"


def parse(raw: Mapping[str, Any], *, stack: str) -> dict[str, Any]:
    """The typed settings (keys without the namespace) from raw values; refuses unknown keys and unusable values."""
    where = f"Pulumi.{stack}.yaml"
    out: dict[str, Any] = {}
    for key, value in raw.items():
        setting = SETTINGS.get(key)
        if setting is None:
            near = difflib.get_close_matches(key, SETTINGS, n=1)
            fix = f"did you mean {NAMESPACE}:{near[0]}?" if near else f"remove it (known: {', '.join(SETTINGS)})"
            raise SettingError(problem(where, f"{NAMESPACE}:{key}", "a known rollback setting", fix,
                                       got="an unknown key"))
        if value is None:
            continue
        try:
            out[key] = setting.parse(value)
        except TypeError:
            raise SettingError(problem(where, f"{NAMESPACE}:{key}", setting.expected,
                                       f"pulumi config set --stack {stack} {_fix(key, setting)}",
                                       got=_shown(value))) from None
    if "watch" in out:  # each field named with its fix, as the file is loaded (WatchSettingError)
        watch_settings.parse(out["watch"], stack=stack)
    return out


def _fix(key: str, setting: Setting) -> str:
    return setting.example if setting.example.startswith("--path") else f"{NAMESPACE}:{key} {setting.example}"


def config_values(settings: Mapping[str, Any]) -> dict[str, str]:
    """Settings as engine config strings (namespaced): what `pulumi config set` would have stored."""
    return {f"{NAMESPACE}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in settings.items()}
