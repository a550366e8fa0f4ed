"""The http backend: the app's admin API pauses and resumes every queue (/pause-all, /resume-all). Each POST is
idempotent (pausing paused queues, setting the same flags, resuming running ones changes nothing), so a transient
answer is retried within the step's budget."""

from __future__ import annotations

import os
from typing import Any

import httpx

from components import runtime_env
from components.providers.retrying import TRANSIENT_STATUS, Budget, Transient


def post(cfg: dict[str, Any], path: str, body: dict[str, Any], budget: Budget | None = None) -> None:
    """POST {adminUrl}{path} with ROLLBACK_ADMIN_TOKEN as bearer token when set, within the budget."""
    url = runtime_env.expand(str(cfg["admin_url"])).rstrip("/") + path
    token = os.environ.get("ROLLBACK_ADMIN_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    budget = budget or Budget()
    endpoint = f"POST {cfg['admin_url']}{path}"  # as configured: ${VARS} unexpanded, no secret shown

    def attempt() -> httpx.Response:
        try:
            resp = httpx.post(url, json=body, headers=headers, timeout=budget.timeout())
        except httpx.TransportError as err:
            raise Transient(endpoint, type(err).__name__) from None
        if resp.status_code in TRANSIENT_STATUS:
            raise Transient(endpoint, resp.status_code, resp.headers)
        return resp

    resp = budget.call(attempt)
    if resp.status_code >= 300:
        raise RuntimeError(f"POST {cfg['admin_url']}{path} answered HTTP {resp.status_code}")
