"""The s3:// rollout lock against a real S3 API (the sandbox's moto server): exclusive under races, taken over only
from a dead holder, renewed while held, and a lost lease noticed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import uuid
from typing import Any

import pytest

from rollback import lock_s3
from rollback.errors import RollbackError
from rollback.lock import lease_seconds
from rollback.lock_holder import StackLocked, machine_id
from rollback.lock_s3 import S3Lease
from sandbox import STATE_BUCKET


@pytest.fixture
def url(sandbox, monkeypatch) -> str:
    """A fresh prefix of the sandbox's state bucket, and the credentials to reach it."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, sandbox.env()[name])
    return (f"s3://{STATE_BUCKET}/lease-{uuid.uuid4().hex[:8]}?region=us-east-1&endpoint={sandbox.aws_endpoint}"
            "&s3ForcePathStyle=true")


def holder(name: str, lease: float = 60, **extra: Any) -> dict[str, Any]:
    return {"user": "ci", "host": name, "pid": 4242, "since": "2026-12-04T10:00:00+00:00", "target": "v1",
            "reason": f"from {name}", "lease": lease, "machine": f"{name}-boot", **extra}


def write(url: str, info: dict[str, Any]) -> None:
    """A holder record as a machine that then died leaves it."""
    lease = S3Lease(url, "prod")
    lease.loc.client.put_object(Bucket=lease.loc.bucket, Key=lease.key, Body=json.dumps(info).encode())


def test_one_holder_at_a_time_naming_it(url):
    first = S3Lease(url, "prod")
    assert first.acquire(holder("runner-1")) is None
    with pytest.raises(StackLocked) as refused:
        S3Lease(url, "prod").acquire(holder("runner-2"))
    msg = str(refused.value)
    assert "held by ci@runner-1 (pid 4242)" in msg and "from runner-1" in msg and "lease is live" in msg
    assert f"s3://{STATE_BUCKET}/" in msg and ".rollback-locks/prod.json" in msg
    first.release()
    again = S3Lease(url, "prod")
    assert again.acquire(holder("runner-2")) is None
    again.release()
    assert S3Lease(url, "prod").holder() is None


@pytest.mark.parametrize("stale", [False, True], ids=["free", "expired-holder"])
def test_contenders_racing_exactly_one_wins(url, stale):
    """8 machines at once, on a free lock or on one whose holder's lease ran out: one holder, 7 refusals."""
    for round_ in range(3):
        stack = f"race{round_}"
        if stale:
            lease = S3Lease(url, stack)
            lease.loc.client.put_object(Bucket=lease.loc.bucket, Key=lease.key,
                                        Body=json.dumps(holder("dead", lease=1)).encode())
            time.sleep(2.2)
        results: list[str] = []
        leases = [S3Lease(url, stack) for _ in range(8)]
        go = threading.Barrier(8)

        def contend(i: int, lease: S3Lease, go: threading.Barrier = go, results: list[str] = results) -> None:
            go.wait()
            try:
                lease.acquire(holder(f"runner-{i}"))
                results.append("won")
            except StackLocked:
                results.append("refused")

        threads = [threading.Thread(target=contend, args=(i, lease)) for i, lease in enumerate(leases)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(results) == ["refused"] * 7 + ["won"], results
        for lease in leases:
            lease.release()


def test_expired_holder_is_taken_over_and_named(url):
    write(url, holder("runner-1", lease=1))
    with pytest.raises(StackLocked, match="lease is live"):
        S3Lease(url, "prod").acquire(holder("runner-2"))
    time.sleep(2.2)
    lease = S3Lease(url, "prod")
    previous = lease.acquire(holder("runner-2"))
    assert previous and previous["host"] == "runner-1" and "lease expired" in previous["replaced"]
    assert S3Lease(url, "prod").holder_info()["host"] == "runner-2"  # type: ignore[index]
    lease.release()


def test_a_dead_process_of_this_machine_is_taken_over_at_once_a_namesake_elsewhere_is_not(url):
    done = subprocess.run(["true"], check=True)
    dead_pid = int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True).stdout)
    assert done.returncode == 0
    here = {"host": socket.gethostname(), "pid": dead_pid}
    write(url, holder("x", **here, machine="another-kernel/1"))  # same host name, another machine: not provable
    with pytest.raises(StackLocked, match="lease is live"):
        S3Lease(url, "prod").acquire(holder("runner-2"))
    write(url, holder("x", **here, machine=machine_id()))
    lease = S3Lease(url, "prod")
    previous = lease.acquire(holder("runner-2"))
    assert previous and previous["replaced"] == "its process is no longer running"
    lease.release()


def test_the_holder_renews_its_lease_while_it_runs(url):
    held = S3Lease(url, "prod")
    held.acquire(holder("runner-1", lease=2))
    time.sleep(5)  # 2.5 leases: only renewals keep it
    with pytest.raises(StackLocked, match="lease is live"):
        S3Lease(url, "prod").acquire(holder("runner-2"))
    held.release()
    assert S3Lease(url, "prod").holder() is None


def test_a_lost_lease_is_noticed_and_release_leaves_the_new_holder(url, monkeypatch):
    lost: list[str] = []
    monkeypatch.setattr(lock_s3, "_lost", lambda stack, where: lost.append(stack))
    held = S3Lease(url, "prod")
    held.acquire(holder("runner-1", lease=1.5))
    write(url, holder("runner-2"))  # another machine overwrote it (as after a takeover)
    deadline = time.monotonic() + 5
    while not lost and time.monotonic() < deadline:
        time.sleep(0.1)
    assert lost == ["prod"]
    held.release()  # not ours any more: left in place
    assert S3Lease(url, "prod").holder_info()["host"] == "runner-2"  # type: ignore[index]


@pytest.mark.parametrize("raw", ["0", "4", "3601", "1m", "-5", " "])
def test_lease_setting_refused_naming_the_variable(raw):
    with pytest.raises(RollbackError, match=r"ROLLBACK_LEASE_SECONDS=.*from 5 to 3600"):
        lease_seconds({"ROLLBACK_LEASE_SECONDS": raw})
    assert lease_seconds({}) == 60 and lease_seconds({"ROLLBACK_LEASE_SECONDS": "15"}) == 15
    assert os.environ.get("ROLLBACK_LEASE_SECONDS") is None


def test_an_unreachable_bucket_is_one_line_naming_the_lock_and_the_fix(url):
    missing = url.replace(f"s3://{STATE_BUCKET}/", "s3://no-such-bucket-here/")
    with pytest.raises(RollbackError) as refused:
        S3Lease(missing, "prod").acquire(holder("runner-1"))
    msg = str(refused.value)
    assert "s3://no-such-bucket-here/" in msg and "NoSuchBucket" in msg and "PULUMI_BACKEND_URL" in msg
    with pytest.raises(RollbackError, match="NoSuchBucket"):
        S3Lease(missing, "prod").holder_info()


def test_a_response_with_two_date_headers_reads_the_age_from_our_clock() -> None:
    """A proxy that repeats Date (botocore joins both values) leaves the age readable instead of a traceback."""
    from datetime import UTC, datetime, timedelta

    from rollback.lock_s3 import _age

    modified = datetime.now(UTC) - timedelta(seconds=30)
    joined = "Sat, 05 Dec 2026 16:00:00 GMT, Sat, 05 Dec 2026 16:00:00 GMT"
    age = _age({"LastModified": modified, "ResponseMetadata": {"HTTPHeaders": {"date": joined}}})
    assert 29 <= age < 120
