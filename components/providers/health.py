"""Health gate step: HTTP, SQL-invariant and metric-threshold checks retried with backoff inside a time budget."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import psycopg
import pulumi
from pulumi.dynamic import Resource

from components import runtime_env
from components.providers.base import StepProvider


@dataclass
class CheckResult:
    """The outcome of one check: its value (status, number) and whether it passed."""

    kind: str
    name: str
    ok: bool
    value: Any
    detail: str

    def summary(self) -> str:
        """`kind name: value (detail)`."""
        return f"{self.kind} check {self.name!r}: {self.detail}"


def _bounds(value: float, lo: float | None, hi: float | None) -> str | None:
    if lo is not None and value < lo:
        return f"{value:g} is below the minimum {lo:g}"
    if hi is not None and value > hi:
        return f"{value:g} is above the maximum {hi:g}"
    return None


def http_check(check: dict[str, Any]) -> CheckResult:
    """GET the URL; ok when the status matches and (if asked) the JSON body has ok: true."""
    want = int(check.get("expect_status", 200))
    try:
        resp = httpx.get(runtime_env.expand(check["url"]), timeout=10.0)
    except runtime_env.MissingSetting as err:
        return CheckResult("http", check["name"], False, None, str(err))
    except httpx.HTTPError as err:
        return CheckResult("http", check["name"], False, None, f"request failed: {type(err).__name__}")
    if resp.status_code != want:
        return CheckResult("http", check["name"], False, resp.status_code, f"HTTP {resp.status_code} (want {want})")
    if check.get("expect_json_ok", True):
        try:
            ok = resp.json().get("ok") is True
        except ValueError:
            ok = False
        if not ok:
            return CheckResult("http", check["name"], False, resp.status_code, "body lacks \"ok\": true")
    return CheckResult("http", check["name"], True, resp.status_code, f"HTTP {resp.status_code}")


def sql_check(check: dict[str, Any]) -> CheckResult:
    """Run the query (one number) against DATABASE_URL; ok when within [min, max]."""
    try:
        with psycopg.connect(runtime_env.database_url(), connect_timeout=5) as conn:
            row = conn.execute(check["query"]).fetchone()
        value = float(row[0]) if row and row[0] is not None else 0.0
    except (psycopg.Error, TypeError, ValueError) as err:
        return CheckResult("sql", check["name"], False, None, f"query failed: {str(err).strip()[:200]}")
    bad = _bounds(value, check.get("min"), check.get("max"))
    return CheckResult("sql", check["name"], bad is None, value, bad or f"{value:g}")


def metric_check(check: dict[str, Any], prometheus_url: str | None) -> CheckResult:
    """Prometheus instant query; ok when the first sample is within [min, max]."""
    if not prometheus_url:
        return CheckResult("metric", check["name"], False, None, "no prometheus_url configured")
    try:
        resp = httpx.get(runtime_env.expand(prometheus_url).rstrip("/") + "/api/v1/query",
                         params={"query": check["query"]}, timeout=10.0)
        result = resp.json()["data"]["result"]
    except runtime_env.MissingSetting as err:
        return CheckResult("metric", check["name"], False, None, str(err))
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as err:
        return CheckResult("metric", check["name"], False, None, f"query failed: {type(err).__name__}")
    if not result:
        return CheckResult("metric", check["name"], False, None, f"no data for {check['query']}")
    value = float(result[0]["value"][1])
    bad = _bounds(value, check.get("min"), check.get("max"))
    return CheckResult("metric", check["name"], bad is None, value, bad or f"{value:g}")


def run_checks(props: dict[str, Any]) -> list[CheckResult]:
    """One round of every check."""
    results = [http_check(c) for c in props.get("http") or []]
    results += [sql_check(c) for c in props.get("sql") or []]
    results += [metric_check(c, props.get("prometheus_url")) for c in props.get("metrics") or []]
    return results


def gate(props: dict[str, Any], sleep: Any = time.sleep) -> tuple[list[CheckResult], int]:
    """Retry all checks with exponential backoff until they pass or budget_seconds is spent."""
    budget = float(30 if props.get("budget_seconds") is None else props["budget_seconds"])
    start, delay, attempts = time.monotonic(), 0.5, 0
    while True:
        attempts += 1
        results = run_checks(props)
        remaining = budget - (time.monotonic() - start)
        if all(r.ok for r in results) or remaining <= 0:
            return results, attempts
        sleep(min(delay, remaining))
        delay = min(delay * 2, 8.0)


class HealthGateProvider(StepProvider):
    """Runs the gate whenever the rollout or the checks change; failure fails the update."""

    step = "health gate"
    keys = ("rollout_id", "deployment_id", "http", "sql", "metrics", "prometheus_url", "budget_seconds",
            "jobs_frozen_by")

    def apply(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """Gate; raise a summary naming every failing check and its value."""
        started = time.monotonic()
        results, attempts = gate(news)
        failing = [r for r in results if not r.ok]
        elapsed = time.monotonic() - started
        if failing:
            raise RuntimeError(f"{len(failing)} of {len(results)} checks failing after {attempts} attempts in "
                               f"{elapsed:.1f}s: " + "; ".join(r.summary() for r in failing))
        return {**news, "attempts": attempts, "results": [{"kind": r.kind, "name": r.name, "value": r.value}
                                                          for r in results]}

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """A gate holds nothing to delete."""


class HealthGateCheck(Resource, module="rollback", name="HealthGate"):
    """The health gate of a rollout."""

    # Outputs, for the type checker only: Pulumi reads runtime class annotations and would convert values by them.
    if TYPE_CHECKING:
        attempts: pulumi.Output[int]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(HealthGateProvider(), name, {"attempts": None, "results": None, **props}, opts)
