"""A small Vercel REST stand-in: deployments, aliases (with a transition log), the aliases' apps, and metrics.

Run as `python -m rollback.sandbox.vercel_standin --port P` with VERCEL_TOKEN in the environment (and the app
database's URL in STANDIN_APP_DATABASE_URL). The `/_standin/*` routes are test hooks: the alias transition log,
the app served by the deployment an alias points at (`/_standin/app/<alias>/...`, `health` among its paths;
it answers against the live schema, see standin_app), the log of every app request (`/_standin/requests`),
which database an alias's app reads (PATCH `/_standin/app/<alias>`), and a Prometheus-style query endpoint fed
by deployment metadata.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from rollback.sandbox.standin_app import (
    APP_DATABASE_ENV,
    MIGRATIONS_TABLE,
    AppDatabase,
    Connections,
    RequestLog,
    Schema,
    answer,
    read_schema,
    valid_table,
)


class Store:
    """In-memory deployments and aliases; every alias change is appended to `transitions`."""

    def __init__(self, app_database: AppDatabase | None = None) -> None:
        self.lock = threading.Lock()
        self.app_database = app_database or AppDatabase()
        self.app_databases: dict[str, AppDatabase] = {}  # per alias, set through the PATCH hook
        self.requests = RequestLog()
        self.connections = Connections()
        self.deployments: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, dict[str, Any]] = {}
        self.transitions: list[dict[str, Any]] = []
        self.health_calls: dict[str, int] = {}

    def create_deployment(self, body: dict[str, Any]) -> dict[str, Any]:
        dep_id = str(body.get("id") or f"dpl_{secrets.token_hex(8)}")
        name = str(body.get("name") or "app")
        dep = {"id": dep_id, "uid": dep_id, "name": name, "url": f"{name}-{dep_id[4:12]}.vercel.app",
               "meta": dict(body.get("meta") or {}), "readyState": "READY", "target": body.get("target"),
               "createdAt": int(time.time() * 1000)}
        with self.lock:
            self.deployments[dep_id] = dep
        return dep

    def assign(self, dep_id: str, alias: str) -> dict[str, Any]:
        with self.lock:
            old = self.aliases.get(alias)
            now = time.time()
            rec = {"uid": old["uid"] if old else f"als_{secrets.token_hex(8)}", "alias": alias,
                   "deploymentId": dep_id, "created": old["created"] if old else now, "updatedAt": now}
            self.aliases[alias] = rec
            self.transitions.append({"at": now, "alias": alias, "from": old["deploymentId"] if old else None,
                                     "to": dep_id})
        return {"uid": rec["uid"], "alias": alias, "created": rec["created"],
                "oldDeploymentId": old["deploymentId"] if old else None}

    def find_alias(self, key: str) -> dict[str, Any] | None:
        with self.lock:
            if key in self.aliases:
                return self.aliases[key]
            return next((a for a in self.aliases.values() if a["uid"] == key), None)

    def delete_alias(self, key: str) -> bool:
        rec = self.find_alias(key)
        if rec is None:
            return False
        with self.lock:
            del self.aliases[rec["alias"]]
            self.transitions.append({"at": time.time(), "alias": rec["alias"], "from": rec["deploymentId"],
                                     "to": None})
        return True


def make_handler(store: Store, token: str) -> type[BaseHTTPRequestHandler]:
    """Request handler bound to a store and the bearer token it requires on /v* routes."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            if not length:
                return {}
            try:
                parsed = json.loads(self.rfile.read(length))
            except ValueError:
                return {}
            return parsed if isinstance(parsed, dict) else {}

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {token}":
                return True
            self._send(403, {"error": {"code": "forbidden", "message": "Not authorized"}})
            return False

        def _route(self, method: str) -> None:
            url = urlparse(self.path)
            path, query = url.path.rstrip("/"), parse_qs(url.query)
            if path.startswith("/_standin/"):
                return self._standin(method, path, query)
            if not self._authorized():
                return None
            for pattern, handler_method, fn in ROUTES:
                m = re.fullmatch(pattern, path)
                if m and handler_method == method:
                    return fn(self, *m.groups())
            return self._send(404, {"error": {"code": "not_found", "message": f"{method} {path}"}})

        def _standin(self, method: str, path: str, query: dict[str, list[str]]) -> None:
            if path == "/_standin/transitions":
                with store.lock:
                    return self._send(200, {"transitions": list(store.transitions)})
            if path == "/_standin/requests":
                since = (query.get("since") or [None])[0]
                try:
                    after = float(since) if since is not None else None
                except ValueError:
                    return self._send(400, {"error": {"code": "bad_request", "message": "since: epoch seconds"}})
                return self._send(200, {"requests": store.requests.query((query.get("alias") or [None])[0], after)})
            m = re.fullmatch(r"/_standin/app/([^/]+)", path)
            if m and method == "PATCH":
                return self._app_database(m.group(1))
            m = re.fullmatch(r"/_standin/app/([^/]+)(/.*)?", path)
            if m:
                return self._app(m.group(1), m.group(2) or "/")
            m = re.fullmatch(r"/_standin/metrics/([^/]+)/api/v1/query", path)
            if m:
                return self._metric(m.group(1), (query.get("query") or [""])[0])
            m = re.fullmatch(r"/_standin/deployments/([^/]+)", path)
            if m and method == "PATCH":
                if not self._authorized():
                    return None
                dep = store.deployments.get(m.group(1))
                if dep is None:
                    return self._send(404, {"error": {"code": "not_found"}})
                dep["meta"].update(self._body().get("meta") or {})
                return self._send(200, dep)
            return self._send(404, {"error": {"code": "not_found"}})

        def _target(self, alias: str) -> dict[str, Any] | None:
            rec = store.find_alias(alias)
            return store.deployments.get(rec["deploymentId"]) if rec else None

        def _app_database(self, alias: str) -> None:
            """Which database (and migrations table) the alias's app reads; a null database_url: the default."""
            if not self._authorized():
                return None
            body = self._body()
            dsn, table = body.get("database_url"), body.get("migrations_table", MIGRATIONS_TABLE)
            if (dsn is not None and not isinstance(dsn, str)) or not valid_table(table):
                return self._send(400, {"error": {"code": "bad_request",
                                                  "message": "database_url: string or null; migrations_table: "
                                                             "an identifier"}})
            with store.lock:
                if dsn is None and table == MIGRATIONS_TABLE:
                    store.app_databases.pop(alias, None)
                else:
                    store.app_databases[alias] = AppDatabase(dsn or store.app_database.dsn, table)
            return self._send(200, {"alias": alias, "database": "custom" if dsn else "default",
                                    "migrations_table": table})

        def _app(self, alias: str, subpath: str) -> None:
            """One request to the alias's app: served by the deployment it points at, on the live schema."""
            at = time.time()
            dep = self._target(alias)
            with store.lock:
                db = store.app_databases.get(alias, store.app_database)
            schema = read_schema(db, store.connections)
            status, body, headers = self._app_answer(alias, subpath, dep, schema)
            store.requests.record(at, alias, subpath, dep["id"] if dep else None, schema, status)
            return self._send(status, body, headers)

        def _app_answer(self, alias: str, subpath: str, dep: dict[str, Any] | None,
                        schema: Schema) -> tuple[int, dict[str, Any], dict[str, str]]:
            if dep is None:
                return 404, {"ok": False, "error": f"no alias {alias}"}, {}
            calls = 0
            if subpath == "/health":
                with store.lock:
                    calls = store.health_calls[dep["id"]] = store.health_calls.get(dep["id"], 0) + 1
            refused = answer(dep, schema)
            if refused is not None:
                return refused
            if subpath != "/health":
                return 200, {"ok": True, "deployment": dep["id"], "path": subpath, "schema": schema.version}, {}
            failing = dep["meta"].get("health") == "fail" or calls <= int(dep["meta"].get("health_fail_first", 0))
            return (503 if failing else 200), {"ok": not failing, "deployment": dep["id"]}, {}

        def _metric(self, alias: str, name: str) -> None:
            dep = self._target(alias)
            metrics = (dep or {}).get("meta", {}).get("metrics", {})
            result = [] if name not in metrics else [{"metric": {"__name__": name},
                                                      "value": [time.time(), str(metrics[name])]}]
            return self._send(200, {"status": "success", "data": {"resultType": "vector", "result": result}})

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            self._route("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._route("POST")

        def do_PATCH(self) -> None:  # noqa: N802
            self._route("PATCH")

        def do_DELETE(self) -> None:  # noqa: N802
            self._route("DELETE")

    def create_deployment(h: Handler) -> None:
        h._send(200, store.create_deployment(h._body()))

    def get_deployment(h: Handler, key: str) -> None:
        dep = store.deployments.get(key) or next((d for d in store.deployments.values() if d["url"] == key), None)
        h._send(200, dep) if dep else h._send(404, {"error": {"code": "not_found", "message": key}})

    def assign_alias(h: Handler, dep_id: str) -> None:
        alias = str(h._body().get("alias") or "")
        if dep_id not in store.deployments:
            return h._send(404, {"error": {"code": "deployment_not_found", "message": dep_id}})
        if not alias:
            return h._send(400, {"error": {"code": "bad_request", "message": "alias is required"}})
        return h._send(200, store.assign(dep_id, alias))

    def deployment_aliases(h: Handler, dep_id: str) -> None:
        with store.lock:
            found = [a for a in store.aliases.values() if a["deploymentId"] == dep_id]
        h._send(200, {"aliases": found})

    def list_aliases(h: Handler) -> None:
        with store.lock:
            found = list(store.aliases.values())
        h._send(200, {"aliases": found, "pagination": {"count": len(found), "next": None, "prev": None}})

    def get_alias(h: Handler, key: str) -> None:
        rec = store.find_alias(key)
        h._send(200, rec) if rec else h._send(404, {"error": {"code": "not_found", "message": key}})

    def delete_alias(h: Handler, key: str) -> None:
        if store.delete_alias(key):
            return h._send(200, {"status": "SUCCESS"})
        return h._send(404, {"error": {"code": "not_found", "message": key}})

    ROUTES = [
        (r"/v13/deployments", "POST", create_deployment),
        (r"/v13/deployments/([^/]+)", "GET", get_deployment),
        (r"/v2/deployments/([^/]+)/aliases", "POST", assign_alias),
        (r"/v2/deployments/([^/]+)/aliases", "GET", deployment_aliases),
        (r"/v4/aliases", "GET", list_aliases),
        (r"/v4/aliases/([^/]+)", "GET", get_alias),
        (r"/v2/aliases/([^/]+)", "DELETE", delete_alias),
    ]
    return Handler


def serve(port: int, token: str, app_database_url: str | None = None,
          migrations_table: str = MIGRATIONS_TABLE) -> ThreadingHTTPServer:
    """A stand-in server bound to 127.0.0.1:port (call serve_forever on it); the aliases' apps read
    app_database_url's migrations table unless a test hook points an alias elsewhere."""
    store = Store(AppDatabase(app_database_url, migrations_table))
    return ThreadingHTTPServer(("127.0.0.1", port), make_handler(store, token))


def main() -> None:
    """Entry point for the sandbox's detached stand-in process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--migrations-table", default=MIGRATIONS_TABLE,
                        help="golang-migrate's table the apps read their schema version from")
    args = parser.parse_args()
    token = os.environ.get("VERCEL_TOKEN", "")
    if not token:
        raise SystemExit("vercel stand-in: VERCEL_TOKEN must be set in the environment")
    if not valid_table(args.migrations_table):
        raise SystemExit("vercel stand-in: --migrations-table must be an SQL identifier")
    serve(args.port, token, os.environ.get(APP_DATABASE_ENV) or None, args.migrations_table).serve_forever()


if __name__ == "__main__":
    main()
