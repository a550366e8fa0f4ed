"""A fault-injecting HTTP proxy of our own, for the Vercel stand-in or moto's S3: per endpoint (method and path), the
first calls get scheduled faults (429 with Retry-After and X-RateLimit-*, 5xx, S3's 503 SlowDown, a dropped
connection, a slow answer), the rest are forwarded unchanged, headers and body included."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "upgrade"}
SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your '
            b"request rate.</Message><RequestId>FAULTPROXY</RequestId></Error>")


@dataclass
class Fault:
    """route: `METHOD regex` on the path (`*` any method); schedule: what the n-th call of each matching endpoint
    gets ("429", "500", "502", "503", "504", "slowdown", "drop", "slow", "lost": forwarded, then the connection is
    dropped before the answer; anything past the schedule is forwarded); always: what
    every call gets instead (a fault that outlasts any budget)."""

    route: str
    schedule: list[str] = field(default_factory=list)
    always: str | None = None
    retry_after: float = 1.0
    slow_s: float = 1.0

    def matches(self, method: str, path: str) -> bool:
        want, pattern = self.route.split(" ", 1)
        return want in ("*", method) and re.fullmatch(pattern, path) is not None


class FaultProxy:
    """The proxy (start/stop, or a context manager): `url` replaces the upstream's; `faults` apply in order;
    `answered` logs (method, path, what the proxy did) for every request."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults: list[Fault] = []
        self.calls: Counter[tuple[int, str, str]] = Counter()
        self.answered: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def set(self, *faults: Fault) -> None:
        """Replace the faults (and forget the calls counted so far)."""
        with self.lock:
            self.faults, self.calls = list(faults), Counter()

    def injected(self, what: str | None = None) -> list[tuple[str, str, str]]:
        """The requests answered with a fault (of kind what), in order."""
        return [a for a in self.answered if a[2] != "forwarded" and (what is None or a[2] == what)]

    def _decide(self, method: str, path: str) -> tuple[str, Fault | None]:
        with self.lock:
            for i, fault in enumerate(self.faults):
                if fault.matches(method, path):
                    if fault.always:
                        return fault.always, fault
                    n = self.calls[(i, method, path)]
                    self.calls[(i, method, path)] += 1
                    return (fault.schedule[n], fault) if n < len(fault.schedule) else ("forwarded", None)
        return "forwarded", None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                return

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                what, fault = proxy._decide(self.command, path)
                with proxy.lock:
                    proxy.answered.append((self.command, path, what))
                if what == "drop":  # the request arrived; no answer ever leaves
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if what == "slowdown":
                    return self._reply(503, SLOWDOWN, {"Content-Type": "application/xml"})
                if what.isdigit():
                    assert fault is not None
                    reset = int(time.time() + fault.retry_after + 1)
                    headers = {"Content-Type": "application/json", "Retry-After": f"{fault.retry_after:g}",
                               "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0",
                               "X-RateLimit-Reset": str(reset)} if what == "429" else {
                        "Content-Type": "application/json"}
                    code = "rate_limited" if what == "429" else "internal_server_error"
                    return self._reply(int(what), f'{{"error": {{"code": "{code}", "message": "injected"}}}}'
                                       .encode(), headers)
                if what == "slow":
                    assert fault is not None
                    time.sleep(fault.slow_s)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                resp = httpx.request(self.command, proxy.upstream + self.path, content=body or None,
                                     headers=headers, timeout=60)
                if what == "lost":  # the upstream did it; its answer never arrives
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._reply(resp.status_code, resp.content,
                            {k: v for k, v in resp.headers.items()
                             if k.lower() not in HOP | {"content-encoding", "date", "server"}})  # ours: sent once

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle  # noqa: N815 - stdlib names

        return Handler
