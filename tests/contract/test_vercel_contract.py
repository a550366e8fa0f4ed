"""The Vercel stand-in held to Vercel's published API: the official @vercel/sdk drives every call the product makes,
team-scoped; the same oracle fails when one field of one response is off the contract."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from components.providers import vercel_api
from sandbox.prereqs import node_oracles
from sandbox.vercel_standin import serve

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TOKEN = "vt_contract_token"
TEAM, PROJECT, OLDER, NEWER = "team_contract", "prj_contract", "dpl_contractold", "dpl_contractnew"
DOMAIN, ALIAS = "www.contract.test", "preview.contract.test"
SDK_CALLS = {  # each product call (vercel_api.CALLS) and the SDK function the oracle calls for it
    ("POST", "/v2/deployments/{id}/aliases"): "aliases.assignAlias",
    ("GET", "/v4/aliases/{idOrAlias}"): "aliases.getAlias",
    ("GET", "/v13/deployments/{idOrUrl}"): "deployments.getDeployment",
    ("DELETE", "/v2/aliases/{aliasId}"): "aliases.deleteAlias",
    ("GET", "/v9/projects/{idOrName}"): "projects.getProject",
    ("POST", "/v1/projects/{projectId}/rollback/{deploymentId}"): "projects.requestRollback",
    ("POST", "/v10/projects/{projectId}/promote/{deploymentId}"): "projects.requestPromote",
}


def _serve(server: ThreadingHTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def standin() -> Iterator[str]:
    """A fresh stand-in with a team project: two production deployments and a production domain."""
    for base in _serve(serve(0, TOKEN)):
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, params={"teamId": TEAM},
                          timeout=10) as c:
            c.post("/v11/projects", json={"name": "web", "id": PROJECT}).raise_for_status()
            for dep in (OLDER, NEWER):
                c.post("/v13/deployments", json={"id": dep, "name": "web", "project": PROJECT,
                                                 "target": "production"}).raise_for_status()
            c.post(f"/v10/projects/{PROJECT}/domains", json={"name": DOMAIN}).raise_for_status()
        yield base


def contract(base: str, **extra: Any) -> tuple[int, list[dict[str, Any]]]:
    """Run the oracle against base (extra: more of its config, e.g. job): its exit code and the JSON lines."""
    modules = node_oracles()
    if not (modules / "@vercel" / "sdk").is_dir():
        pytest.fail(f"@vercel/sdk is not installed in {modules}: run `make node-oracles`")
    cfg = {"serverURL": base, "teamId": TEAM, "projectId": PROJECT, "older": OLDER, "newer": NEWER,
           "productionDomain": DOMAIN, "customAlias": ALIAS, **extra}
    proc = subprocess.run(["node", str(HERE / "vercel_contract.mjs"), json.dumps(cfg)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "NODE_MODULES": str(modules),
                                                      "VERCEL_TOKEN": TOKEN})
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines or proc.returncode == 0, proc.stderr[-2000:]
    return proc.returncode, lines


def test_every_vercel_call_of_the_product_is_in_the_contract():
    assert set(vercel_api.CALLS) == set(SDK_CALLS)
    source = "\n".join(p.read_text() for p in [*(ROOT / "components").rglob("*.py"), *(ROOT / "rollback").glob("*.py")])
    paths = set(re.findall(r"""f?["'](/v\d+/[^"'?]*)""", source))
    templates = {re.sub(r"\{[^}]*\}", "{}", path) for _, path in vercel_api.CALLS}
    assert {re.sub(r"\{[^}]*\}", "{}", p) for p in paths} <= templates, "a Vercel call outside vercel_api.CALLS"


def test_the_stand_in_meets_the_published_contract_for_every_call(standin):
    started = time.monotonic()
    code, lines = contract(standin)
    assert code == 0, lines[-1]
    called = {line["call"].split(" ")[0] for line in lines}
    assert called == set(SDK_CALLS.values())
    refused = {line["call"]: line["status"] for line in lines if "status" in line}
    assert refused == {"aliases.getAlias without teamId": 404, "aliases.getAlias with a wrong teamId": 403,
                       "projects.requestRollback without teamId": 404}
    assert time.monotonic() - started < 30


def _proxy(upstream: str, route: str, change: Callable[[int, Any], tuple[int, Any]]) -> ThreadingHTTPServer:
    """A proxy to upstream that passes `change` the status and JSON body of responses to `route` (METHOD regex)."""
    method, pattern = route.split(" ", 1)

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
            resp = httpx.request(self.command, upstream + self.path, content=body, headers=headers, timeout=10)
            status, data = resp.status_code, resp.content
            if self.command == method and re.fullmatch(pattern, self.path.split("?")[0]):
                status, changed = change(status, resp.json() if data else None)
                data = b"" if changed is None else json.dumps(changed).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _forward  # noqa: N815 - stdlib names

    return ThreadingHTTPServer(("127.0.0.1", 0), Proxy)


def _field(path: str, value: Any) -> Callable[[int, Any], tuple[int, Any]]:
    def change(status: int, body: Any) -> tuple[int, Any]:
        *parents, leaf = path.split(".")
        node = body
        for key in parents:
            node = node[key]
        if value is KeyError:
            del node[leaf]
        else:
            node[leaf] = value
        return status, body
    return change


BROKEN = {  # one field off the contract: the oracle must fail on that call, naming why
    "created in epoch seconds (the old stand-in)": (
        r"POST /v2/deployments/[^/]+/aliases", _field("created", 1767225600.123), "aliases.assignAlias",
        "created (coerced)"),
    "uid missing": (r"GET /v4/aliases/preview\.contract\.test", _field("uid", KeyError), "aliases.getAlias",
                    "uid (coerced)"),
    "created not a date": (r"GET /v4/aliases/preview\.contract\.test", _field("created", "last tuesday"),
                           "aliases.getAlias", "ResponseValidationError"),
    "an unknown alias request type": (r"GET /v9/projects/prj_contract", _field("lastAliasRequest.type", "redeploy"),
                                      "projects.getProject", "ResponseValidationError"),
    "a required project field missing": (r"GET /v9/projects/prj_contract", _field("nodeVersion", KeyError),
                                         "projects.getProject", "ResponseValidationError"),
    "rollback answered 200 with a body": (r"POST /v1/projects/[^/]+/rollback/[^/]+", lambda s, b: (200, {"ok": 1}),
                                          "projects.requestRollback", "Unexpected Status"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_oracle_fails_when_one_response_is_off_the_contract(standin, case):
    route, change, call, reason = BROKEN[case]
    for base in _serve(_proxy(standin, route, change)):
        code, lines = contract(base)
    assert code == 1
    assert lines[-1]["call"].startswith(call) and lines[-1]["ok"] is False
    assert reason in lines[-1]["error"]


JOBS = {  # how the stand-in ends the project's job -> the jobStatus values the SDK reads, and who serves production
    "succeeded at once": ({"outcome": "succeeded", "after_s": 0}, ["succeeded"], "to"),
    "succeeded after a delay": ({"outcome": "succeeded", "after_s": 0.6}, ["in-progress", "succeeded"], "to"),
    "failed": ({"outcome": "failed", "after_s": 0.3}, ["in-progress", "failed"], "from"),
    "pending": ({"outcome": "pending"}, ["in-progress"], "from"),
}


@pytest.mark.parametrize("kind", ["rollback", "promote"])
@pytest.mark.parametrize("case", sorted(JOBS))
def test_asynchronous_rollback_and_promote_meet_the_contract_in_each_state(standin, kind, case):
    outcome, expect, serving = JOBS[case]
    with httpx.Client(base_url=standin, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as c:
        if kind == "promote":  # roll back first (at once), so the promote has somewhere to go
            c.post(f"/v1/projects/{PROJECT}/rollback/{OLDER}", params={"teamId": TEAM}).raise_for_status()
        c.patch(f"/_standin/projects/{PROJECT}/alias-jobs", json=outcome).raise_for_status()
    frm, to = (NEWER, OLDER) if kind == "rollback" else (OLDER, NEWER)
    code, lines = contract(standin, job={"kind": kind, "to": to, "expect": expect})
    assert code == 0, lines[-1]
    assert lines[-1]["states"] == expect
    assert lines[-1]["production"] == (to if serving == "to" else frm)
