"""The stack's watch window (`rollback:watch` in Pulumi.<stack>.yaml): how long `rollback watch` samples the deployed
version's health, how often, and whether `last-good` counts only versions that passed a watch.

The defaults come from the runbooks: the production rollback plan's post-rollback validation ("Monitor for 15 minutes
before considering stable"), the rollback guide's extended monitoring (`watch -n 10` on the error rate); the
deployment rollback runbook asks 30 minutes after a rollback (`rollback watch STACK --for 30m`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rollback_stacks.durations import seconds
from rollback_stacks.errors import SettingError, problem

WINDOW_RANGE = (1.0, 24 * 3600.0)  # CloudFormation's rollback triggers monitor up to 3 h; a day is plenty
INTERVAL_RANGE = (0.1, 3600.0)
FIELDS = ("window", "interval", "requireWatched")


class WatchSettingError(SettingError):
    """rollback:watch (or --for / --interval) cannot be used: the message names the file, the field and the fix."""


@dataclass(frozen=True)
class WatchSettings:
    """The window, the sampling interval, and whether last-good needs a passed watch."""

    window: float = 15 * 60.0
    interval: float = 10.0
    require_watched: bool = False


def shown(value: float) -> str:
    """Seconds as the shortest duration text (900 -> 15m, 2.5 -> 2.5s)."""
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if value >= size and (value / size).is_integer():
            return f"{int(value / size)}{unit}"
    return f"{value:g}s"


def _refuse(stack: str, field: str, expected: str, example: str, got: Any) -> WatchSettingError:
    return WatchSettingError(problem(f"Pulumi.{stack}.yaml", f"rollback:watch.{field}", expected,
                                     f"pulumi config set --stack {stack} --path rollback:watch.{field} {example}",
                                     got=repr(got)))


def _duration(raw: Any, stack: str, field: str, bounds: tuple[float, float], example: str) -> float:
    value = seconds(raw)
    if value is None or not bounds[0] <= value <= bounds[1]:
        raise _refuse(stack, field, f"a duration from {shown(bounds[0])} to {shown(bounds[1])} (e.g. {example})",
                      example, raw)
    return value


def parse(raw: Any, *, stack: str, window: Any = None, interval: Any = None) -> WatchSettings:
    """Validate rollback:watch ({window, interval, requireWatched}); window and interval given on the command line
    (--for, --interval) win. Absent: the runbooks' defaults."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise WatchSettingError(problem(f"Pulumi.{stack}.yaml", "rollback:watch", "a mapping {window, interval, "
                                        "requireWatched} (README: The watch window)", f"pulumi config set --stack "
                                        f"{stack} --path rollback:watch.window 15m", got=repr(raw)[:60]))
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise WatchSettingError(problem(f"Pulumi.{stack}.yaml", f"rollback:watch.{unknown[0]}",
                                        f"one of its fields ({', '.join(FIELDS)})",
                                        f"pulumi config rm --stack {stack} --path rollback:watch.{unknown[0]}",
                                        got="an unknown field"))
    default = WatchSettings()
    win = _duration(raw.get("window", default.window), stack, "window", WINDOW_RANGE, "15m")
    if window is not None:
        win = _cli(window, "--for", WINDOW_RANGE, "30m")
    step = _duration(raw.get("interval", default.interval), stack, "interval", INTERVAL_RANGE, "10s")
    if interval is not None:
        step = _cli(interval, "--interval", INTERVAL_RANGE, "10s")
    required = raw.get("requireWatched", False)
    if isinstance(required, str) and required.strip().lower() in ("true", "false"):
        required = required.strip().lower() == "true"
    if not isinstance(required, bool):
        raise _refuse(stack, "requireWatched", "true or false", "true", required)
    if step > win:
        where = "--interval" if interval is not None else f"Pulumi.{stack}.yaml: rollback:watch.interval"
        raise WatchSettingError(f"{where}: got {shown(step)}; expected at most the window ({shown(win)}); fix: a "
                                f"shorter interval or a longer window")
    return WatchSettings(window=win, interval=step, require_watched=required)


def _cli(raw: Any, option: str, bounds: tuple[float, float], example: str) -> float:
    value = seconds(raw)
    if value is None or not bounds[0] <= value <= bounds[1]:
        raise WatchSettingError(f"{option}: got {raw!r}; expected a duration from {shown(bounds[0])} to "
                                f"{shown(bounds[1])}; fix: e.g. {option} {example}")
    return value
