"""Every external call within its step's retry budget, through our fault proxy in front of the real stand-in and
moto: transient answers retried (Retry-After honoured), a spent budget stopping with the endpoint, status and
headers, calls that are not idempotent never repeated once they took effect."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from components import retry_settings
from components.providers import vercel_api
from components.providers.alias import AliasAssignmentProvider
from components.providers.base import StepFailed
from components.providers.retrying import Budget, BudgetSpent, Transient, s3_call
from components.runtime_env import S3_CONFIG
from rollback.errors import RollbackError
from rollback.lock_s3 import S3Lease
from sandbox import STATE_BUCKET
from tests.fault_proxy import Fault, FaultProxy

ASSIGN = r"POST /v2/deployments/[^/]+/aliases"


@pytest.fixture
def vercel(db, sandbox, monkeypatch) -> Iterator[FaultProxy]:
    """The fault proxy in front of the stand-in, as VERCEL_API_URL."""
    with FaultProxy(sandbox.env()["VERCEL_API_URL"]) as proxy:
        monkeypatch.setenv("VERCEL_API_URL", proxy.url)
        yield proxy


@pytest.fixture
def s3(sandbox, monkeypatch) -> Iterator[FaultProxy]:
    """The fault proxy in front of moto, as AWS_ENDPOINT_URL."""
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    with FaultProxy(sandbox.aws_endpoint) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        yield proxy


def deploy(standin, dep_id: str) -> None:
    assert standin.post("/v13/deployments", json={"id": dep_id, "name": "shop"}).status_code == 200


def test_an_alias_move_rides_out_429_5xx_a_dropped_connection_and_a_slow_answer(vercel, standin):
    tag = uuid.uuid4().hex[:8]
    alias, dep = f"{tag}.example.test", f"dpl_r{tag}"
    deploy(standin, dep)
    vercel.set(Fault(ASSIGN, ["429", "503", "drop", "slow"], retry_after=0.5, slow_s=0.3))
    started = time.monotonic()
    out = AliasAssignmentProvider().create({"alias": alias, "deployment_id": dep, "retry_budget": {"budget_ms": 10000}})
    elapsed = time.monotonic() - started
    assert standin.get(f"/v4/aliases/{alias}").json()["deploymentId"] == dep
    report = out.outs["retries"]
    assert (report["calls"], report["retries"]) == (5, 3)  # the alias read, then four assigns
    assert report["wait_seconds"] >= 0.5  # Retry-After: 0.5 was honoured
    assert report["last_transient"].startswith(f"POST /v2/deployments/{dep}/aliases: RemoteProtocolError")
    assert [w for _, _, w in vercel.injected()] == ["429", "503", "drop", "slow"]
    assert elapsed < 10


def test_a_spent_budget_stops_clean_naming_endpoint_status_and_headers(vercel, standin):
    tag = uuid.uuid4().hex[:8]
    alias, dep = f"{tag}.example.test", f"dpl_s{tag}"
    deploy(standin, dep)
    vercel.set(Fault(ASSIGN, always="429", retry_after=0.4))
    started = time.monotonic()
    with pytest.raises(StepFailed) as failed:
        AliasAssignmentProvider().create({"alias": alias, "deployment_id": dep, "retry_budget": {"budget_ms": 1500},
                                          "jobs_frozen_by": "ro-test"})
    elapsed = time.monotonic() - started
    msg = str(failed.value)
    assert msg.startswith("alias move failed: retry budget of 1.5s spent (")
    assert f"last answer: POST /v2/deployments/{dep}/aliases: HTTP 429 (Retry-After: 0.4, X-RateLimit-Limit: 100, " \
           "X-RateLimit-Remaining: 0, X-RateLimit-Reset: " in msg
    assert "Jobs stay frozen by rollout ro-test" in msg and "rollback:retries.budget" in msg
    assert elapsed < 1.5 + 1.0  # never a wait past the budget (a last attempt may still be answering)
    assert standin.get(f"/v4/aliases/{alias}").status_code == 404
    vercel.set()  # the service recovers: the same step converges
    AliasAssignmentProvider().create({"alias": alias, "deployment_id": dep, "retry_budget": {"budget_ms": 1500}})
    assert standin.get(f"/v4/aliases/{alias}").json()["deploymentId"] == dep


def test_a_wait_asked_for_beyond_the_budget_stops_at_once(vercel, standin):
    vercel.set(Fault(r"GET /v4/aliases/.*", always="429", retry_after=30))
    budget = Budget(2.0)
    started = time.monotonic()
    with pytest.raises(BudgetSpent, match=r"1 calls, 0 retries.*HTTP 429 \(Retry-After: 30,"):
        vercel_api.alias_record("nowhere.example.test", None, budget)
    assert time.monotonic() - started < 2.0  # not the 30 s asked for


def test_a_rollback_request_whose_answer_was_lost_is_not_asked_again(vercel, standin):
    tag = uuid.uuid4().hex[:8]
    project, old, new = f"prj_{tag}", f"dpl_o{tag}", f"dpl_n{tag}"
    standin.post("/v11/projects", json={"name": f"web{tag}", "id": project}).raise_for_status()
    for dep in (old, new):
        standin.post("/v13/deployments", json={"id": dep, "name": f"web{tag}", "project": project,
                                               "target": "production"}).raise_for_status()
    path = f"/v1/projects/{project}/rollback/{old}"
    vercel.set(Fault(f"POST {path}", ["lost"]))
    budget = Budget(10.0)
    vercel_api.alias_request("rollback", project, old, None, budget)
    done = vercel_api.wait_alias_request("rollback", project, old, None, budget)
    assert done["lastAliasRequest"]["jobStatus"] == "succeeded"
    assert [a for a in vercel.answered if a[1] == path] == [("POST", path, "lost")]  # asked once, never again
    assert budget.retries == 1 and "RemoteProtocolError" in str(budget.report())

    vercel.set()  # a step's later request, its budget already used by other calls: asked at once, no check first
    vercel.answered.clear()
    vercel_api.alias_request("rollback", project, new, None, budget)
    assert vercel.answered == [("POST", f"/v1/projects/{project}/rollback/{new}", "forwarded")]


def test_s3_slowdown_is_retried_and_a_lasting_one_spends_the_budget(s3, sandbox):
    client = boto3.client("s3", endpoint_url=s3.url, config=Config(**S3_CONFIG))
    bucket, key = sandbox.env()["ROLLBACK_SNAPSHOT_BUCKET"], f"retries/{uuid.uuid4().hex}.dump"
    s3.set(Fault(f"PUT /{bucket}/{key}", ["slowdown", "slowdown", "drop"]))
    budget = Budget(10.0)
    s3_call(budget, f"PUT s3://{bucket}/{key}", lambda: client.put_object(Bucket=bucket, Key=key, Body=b"x"))
    assert (budget.calls, budget.retries) == (4, 3)
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == b"x"
    s3.set(Fault(f"PUT /{bucket}/{key}", always="slowdown"))
    with pytest.raises(BudgetSpent, match=rf"last answer: PUT s3://{bucket}/{key}: HTTP 503 SlowDown"):
        s3_call(Budget(1.0), f"PUT s3://{bucket}/{key}", lambda: client.put_object(Bucket=bucket, Key=key, Body=b"y"))


def _lease_url(proxy: FaultProxy) -> str:
    return f"s3://{STATE_BUCKET}/lease-{uuid.uuid4().hex[:8]}?region=us-east-1&endpoint={proxy.url}&s3ForcePathStyle=true"


def _holder(name: str) -> dict[str, object]:
    return {"user": "ci", "host": name, "pid": 4242, "since": "2026-12-05T10:00:00+00:00", "target": "v1",
            "reason": name, "lease": 60, "machine": f"{name}-boot"}


def test_the_lock_object_rides_out_slowdown_and_a_lost_answer_to_its_conditional_write(s3, capsys):
    url = _lease_url(s3)
    lease = S3Lease(url, "prod", 10.0)
    s3.set(Fault(r"PUT .*/\.rollback-locks/prod\.json", ["slowdown", "lost"]))
    assert lease.acquire(_holder("runner-1")) is None  # the lost write was ours: taken, not "held by runner-1"
    assert lease.etag is not None
    assert "took 5 calls (2 retries" in capsys.readouterr().err
    lease.release()
    assert S3Lease(url, "prod").holder() is None


def test_the_lock_object_answering_slowdown_beyond_the_budget_is_one_clean_error(s3):
    url = _lease_url(s3)
    s3.set(Fault(r"* .*/\.rollback-locks/prod\.json", always="slowdown"))
    started = time.monotonic()
    with pytest.raises(RollbackError) as failed:
        S3Lease(url, "prod", 1.0).acquire(_holder("runner-1"))
    assert time.monotonic() - started < 3.0
    msg = str(failed.value)
    assert "could not be taken or read: retry budget of 1s spent" in msg
    assert ".rollback-locks/prod.json: HTTP 503 SlowDown" in msg and "nothing was changed" in msg
    assert "step" not in msg  # the lock is taken before any step: no step's advice
    s3.set()
    lease = S3Lease(url, "prod", 1.0)
    assert lease.acquire(_holder("runner-1")) is None  # the re-run converges
    lease.release()


@pytest.mark.parametrize(("raw", "error"), [
    ("2m", "must be a mapping"),
    ({"budget": "forever"}, "rollback:retries.budget must be a duration from 0s to 30m"),
    ({"budget": "45m"}, "rollback:retries.budget must be a duration"),
    ({"budgt": "1m"}, "budgt unknown (its fields: budget)"),
])
def test_the_budget_setting_is_validated_naming_file_field_and_fix(raw, error):
    with pytest.raises(retry_settings.RetrySettingError) as refused:
        retry_settings.parse(raw, stack="prod")
    assert str(refused.value).startswith("Pulumi.prod.yaml: rollback:retries")
    assert error in str(refused.value) and "fix: pulumi config" in str(refused.value)
    assert retry_settings.parse({"budget": "90s"}, stack="prod").props() == {"budget_ms": 90000}
    assert retry_settings.parse(None, stack="prod").budget == 120.0


def test_retry_after_as_a_date_and_ratelimit_reset_as_epoch_seconds():
    now = 1_800_000_000.0
    assert Transient("GET /x", 429, {"Retry-After": "Fri, 15 Jan 2027 08:00:05 GMT"}).asked_wait(now) == 5.0
    assert Transient("GET /x", 429, {"X-RateLimit-Reset": str(int(now) + 3)}).asked_wait(now) == 3.0
    assert Transient("GET /x", 503, {}).asked_wait(now) is None
