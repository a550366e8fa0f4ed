"""The stack's job queue (`rollback:jobs` in Pulumi.<stack>.yaml): which backend freezes the workers, and how."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from components.lock_settings import seconds

BACKENDS = ("postgres", "sql", "bullmq", "http", "ssm", "vercel-env")
TABLE_FLAGS = ("postgres", "sql", "bullmq")  # backends whose flags live in the app database's rollback_control
FIELDS = {
    "postgres": ("running",),
    "sql": ("pause", "resume", "running"),
    "bullmq": ("queues", "prefix"),
    "http": ("adminUrl", "running"),
    "ssm": ("prefix",),
    "vercel-env": (),
}
REQUIRED = {"sql": ("pause", "resume", "running"), "bullmq": ("queues",), "http": ("adminUrl",)}
QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$")


class JobsSettingError(ValueError):
    """rollback:jobs is malformed: the message names the file, the field and the fix."""


@dataclass(frozen=True)
class JobsSettings:
    """One backend and what it needs: SQL statements (sql), queue names (bullmq), an admin URL (http)."""

    backend: str = "postgres"
    pause: str | None = None
    resume: str | None = None
    running: str | None = None  # a query counting running jobs of the frozen kind: drained at 0
    queues: tuple[str, ...] = ()
    prefix: str | None = None
    admin_url: str | None = None
    drain_seconds: float = 60.0

    def props(self) -> dict[str, Any]:
        """The provider inputs: what the freeze and release steps do (no credentials: those stay in the env)."""
        out = asdict(self)
        out["queues"] = list(self.queues)
        return {k: v for k, v in out.items() if v not in (None, [], ())}


def parse(raw: Any, *, stack: str, default_backend: str = "postgres") -> JobsSettings:
    """Validate rollback:jobs; absent, the version's recorded backend (its flags only) is used."""
    where = f"Pulumi.{stack}.yaml: rollback:jobs"
    if raw is None:
        return JobsSettings(backend=default_backend)
    if not isinstance(raw, dict):
        raise JobsSettingError(f"{where} must be a mapping with `backend:` and that backend's fields "
                               "(README: Job queues)")
    backend = raw.get("backend", default_backend)
    if backend not in BACKENDS:
        raise JobsSettingError(f"{where}.backend {backend!r} is not one of {', '.join(BACKENDS)}")
    known = ("backend", "drainSeconds", *FIELDS[backend])
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise JobsSettingError(f"{where}: {', '.join(unknown)} not used by the {backend} backend "
                               f"(its fields: {', '.join(known)})")
    missing = [k for k in REQUIRED.get(backend, ()) if not raw.get(k)]
    if missing:
        raise JobsSettingError(f"{where}: the {backend} backend needs {', '.join(missing)} (README: Job queues)")
    for key in ("pause", "resume", "running", "adminUrl", "prefix"):
        if key in raw and not (isinstance(raw[key], str) and raw[key].strip()):
            raise JobsSettingError(f"{where}.{key} must be a non-empty string")
    drain = seconds(raw.get("drainSeconds", 60))  # `pulumi config set --path` stores 0.5 as "0.5"
    if drain is None or not 0 <= drain <= 3600:
        raise JobsSettingError(f"{where}.drainSeconds must be a number of seconds from 0 to 3600, "
                               f"not {raw.get('drainSeconds')!r}")
    return JobsSettings(backend=backend, pause=raw.get("pause"), resume=raw.get("resume"),
                        running=raw.get("running"), queues=_queues(raw.get("queues"), where),
                        prefix=raw.get("prefix"), admin_url=raw.get("adminUrl"), drain_seconds=drain)


def _queues(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(q, str) and QUEUE_NAME.match(q) for q in raw):
        raise JobsSettingError(f"{where}.queues must be a list of queue names (letters, digits, _ . : -), "
                               f"e.g. [emails, ai-analysis]")
    if len(set(raw)) != len(raw):
        raise JobsSettingError(f"{where}.queues names a queue twice")
    return tuple(raw)
