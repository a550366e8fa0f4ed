"""The http backend: the app's admin API pauses and resumes every queue (/pause-all, /resume-all)."""

from __future__ import annotations

import os
from typing import Any

import httpx

from components import runtime_env


def post(cfg: dict[str, Any], path: str, body: dict[str, Any]) -> None:
    """POST {adminUrl}{path} with ROLLBACK_ADMIN_TOKEN as bearer token when set."""
    url = runtime_env.expand(str(cfg["admin_url"])).rstrip("/") + path
    token = os.environ.get("ROLLBACK_ADMIN_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = httpx.post(url, json=body, headers=headers, timeout=15.0)
    if resp.status_code >= 300:
        raise RuntimeError(f"POST {cfg['admin_url']}{path} answered HTTP {resp.status_code}")
