"""Removes secrets from text before it reaches a report, a log or a notification."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

MASK = "***"
MIN_SECRET_LEN = 3
SECRET_ENV_VARS = (
    "VERCEL_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SESSION_TOKEN",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_ACCESS_TOKEN",
    "GITHUB_TOKEN",
    "GH_TOKEN",
)
URL_ENV_VARS = ("DATABASE_URL", "REDIS_URL", "PULUMI_BACKEND_URL")
SECRET_SUFFIXES = ("_TOKEN", "_SECRET", "_PASSWORD", "_PASSPHRASE", "_SECRET_ACCESS_KEY")
USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<pw>[^@/\s]+)@")


def url_password(url: str) -> str | None:
    """The password part of a URL's userinfo (percent-decoded), if any."""
    try:
        pw = urlsplit(url).password
    except ValueError:
        return None
    return unquote(pw) if pw else None


def secrets_from_env(env: Mapping[str, str]) -> set[str]:
    """Secret values found in env: known names, *_TOKEN/*_SECRET/... names and URL passwords."""
    found: set[str] = set()
    for name, value in env.items():
        if name in SECRET_ENV_VARS or name.endswith(SECRET_SUFFIXES):
            found.add(value)
        if name in URL_ENV_VARS or name.endswith("_URL"):
            pw = url_password(value)
            if pw:
                found.add(pw)
    return found


class Redactor:
    """Replaces every known secret (and any URL userinfo password) in strings with ***."""

    def __init__(self, secrets: Iterable[str] = (), env: Mapping[str, str] | None = None) -> None:
        """Secrets are the explicit ones plus those found in env (os.environ when None)."""
        values = set(secrets) | secrets_from_env(os.environ if env is None else env)
        variants = {v for s in values if s for v in (s, quote(s, safe=""), quote(s))}
        self.secrets = sorted((v for v in variants if len(v) >= MIN_SECRET_LEN), key=len, reverse=True)

    def add(self, *secrets: str) -> None:
        """Register more secret values."""
        more = {v for s in secrets if s for v in (s, quote(s, safe=""))} - set(self.secrets)
        self.secrets = sorted([*self.secrets, *(v for v in more if len(v) >= MIN_SECRET_LEN)], key=len, reverse=True)

    def text(self, value: str) -> str:
        """value with URL passwords and known secrets masked."""
        out = USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", value)
        for secret in self.secrets:
            out = out.replace(secret, MASK)
        return out

    def data(self, value: Any) -> Any:
        """A JSON-like structure with every string (keys included) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.data(k): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def redact(value: str, secrets: Iterable[str] = ()) -> str:
    """One-shot: value redacted with the process environment's secrets plus `secrets`."""
    return Redactor(secrets).text(value)
