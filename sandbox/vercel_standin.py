"""A small Vercel REST stand-in: teams, projects (production domains, Instant Rollback, promote; vercel_projects),
deployments, aliases (with a transition log), the aliases' apps, and metrics. Every /v* call is scoped by its
`teamId` query parameter as Vercel scopes it.

Run as `python -m sandbox.vercel_standin --port P` with VERCEL_TOKEN in the environment (and the app
database's URL in STANDIN_APP_DATABASE_URL). The `/_standin/*` routes are test hooks: the alias transition log,
the app served by the deployment an alias points at (`/_standin/app/<alias>/...`, `health` among its paths;
it answers against the live schema, see standin_app), the log of every app request (`/_standin/requests`),
which database an alias's app reads (PATCH `/_standin/app/<alias>`), how a project's rollback and promote jobs end
(PATCH `/_standin/projects/<id>/alias-jobs` with {"outcome": "succeeded" | "failed" | "pending", "after_s": N},
which also ends a job still in progress that way: Vercel runs them asynchronously; by default they succeed at
once), and a Prometheus-style query endpoint fed by deployment metadata.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from sandbox.standin_app import (
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
from sandbox.vercel_projects import (
    Refused,
    check_team,
    deployment_body,
    in_scope,
    iso,
    new_project,
    now_ms,
    project_body,
)
from sandbox.vercel_projects import alias_request as new_alias_request


class Store:
    """In-memory teams, projects, deployments and aliases; every alias change is appended to `transitions`."""

    def __init__(self, app_database: AppDatabase | None = None) -> None:
        self.lock = threading.RLock()
        self.app_database = app_database or AppDatabase()
        self.app_databases: dict[str, AppDatabase] = {}  # per alias, set through the PATCH hook
        self.requests = RequestLog()
        self.connections = Connections()
        self.teams: set[str] = set()
        self.projects: dict[str, dict[str, Any]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, dict[str, Any]] = {}
        self.transitions: list[dict[str, Any]] = []
        self.health_calls: dict[str, int] = {}
        self.alias_jobs: dict[str, tuple[str, float]] = {}  # project id -> (outcome, seconds until it is reached)

    def project(self, key: str, scope: str | None) -> dict[str, Any]:
        """The project with id or name key in scope (refused: a team the token is not in, or not found)."""
        check_team(self.teams, scope)
        with self.lock:
            found = self.projects.get(key) or next((p for p in self.projects.values() if p["name"] == key
                                                    and p["teamId"] == scope), None)
        if found is None:
            raise Refused(404, "not_found", "Project not found")
        in_scope(found["teamId"], scope, "Project")
        return found

    def create_project(self, body: dict[str, Any], scope: str | None) -> dict[str, Any]:
        """POST /v11/projects: a project of the scope (a team project registers the token as its member)."""
        name = str(body.get("name") or "")
        if not name:
            raise Refused(400, "bad_request", "name is required")
        with self.lock:
            if scope is not None:
                self.teams.add(scope)
            p = new_project(name, scope, body.get("id"))
            self.projects[p["id"]] = p
        return p

    def deployment(self, key: str, scope: str | None) -> dict[str, Any]:
        """The deployment with id or url key in scope."""
        check_team(self.teams, scope)
        dep = self.deployments.get(key) or next((d for d in self.deployments.values() if d["url"] == key), None)
        if dep is None:
            raise Refused(404, "not_found", "Deployment not found")
        in_scope(dep["ownerId"], scope, "Deployment")
        return dep

    def create_deployment(self, body: dict[str, Any], scope: str | None = None) -> dict[str, Any]:
        """POST /v13/deployments: a READY deployment of the scope's project `project` or `name` (made when new);
        a production one takes the project's production domains unless the project is rolled back."""
        check_team(self.teams, scope)
        dep_id = str(body.get("id") or f"dpl_{secrets.token_hex(8)}")
        name = str(body.get("name") or "app")
        with self.lock:
            try:
                project = self.project(str(body.get("project") or name), scope)
            except Refused:
                if body.get("project"):
                    raise
                project = new_project(name, scope)  # as Vercel: a first deployment of a name makes its project
                self.projects[project["id"]] = project
            dep = {"id": dep_id, "uid": dep_id, "name": name, "url": f"{name}-{dep_id[4:12]}.vercel.app",
                   "meta": dict(body.get("meta") or {}), "readyState": "READY", "target": body.get("target"),
                   "createdAt": now_ms(), "projectId": project["id"], "ownerId": scope}
            self.deployments[dep_id] = dep
            if dep["target"] == "production" and not project["lastRollbackTarget"]:
                self.point_production(project, dep_id, "auto-assign")
        return dep

    def point_production(self, project: dict[str, Any], dep_id: str, via: str) -> None:
        """The project's production deployment becomes dep_id, and its production domains move to it."""
        with self.lock:
            project["production"], project["updatedAt"] = dep_id, now_ms()
            for domain in project["domains"]:
                self.assign(dep_id, domain, via)

    def alias_request(self, project: dict[str, Any], dep_id: str, kind: str) -> None:
        """POST rollback (rolled-back state on) or promote (off) to a READY deployment of the project."""
        with self.lock:
            dep = self.deployments.get(dep_id)
            if dep is None or dep["projectId"] != project["id"]:
                raise Refused(404, "not_found", "Deployment not found")
            if dep["readyState"] != "READY":
                raise Refused(400, "deployment_not_ready", f"deployment {dep_id} is not ready")
            request = new_alias_request(kind, project["production"], dep_id)
            outcome, after = self.alias_jobs.get(project["id"], ("succeeded", 0.0))
            project["lastAliasRequest"] = request
            if outcome == "succeeded" and after <= 0:
                return self.end_alias_request(project, request, "succeeded")
            request["jobStatus"] = "in-progress"
        if outcome != "pending":
            timer = threading.Timer(after, self.end_alias_request, (project, request, outcome))
            timer.daemon = True
            timer.start()

    def end_alias_request(self, project: dict[str, Any], request: dict[str, Any], outcome: str) -> None:
        """The asynchronous job ends (unless a later request replaced it): on success the domains move and a
        rollback leaves the project rolled back (a promote ends that state); on failure nothing moves."""
        with self.lock:
            if project["lastAliasRequest"] is not request:
                return
            request["jobStatus"] = outcome
            if outcome != "succeeded":
                return
            project["lastRollbackTarget"] = ({k: request[k] for k in ("fromDeploymentId", "toDeploymentId",
                                                                      "jobStatus", "requestedAt")}
                                             if request["type"] == "rollback" else None)
            self.point_production(project, request["toDeploymentId"], request["type"])

    def add_domain(self, project: dict[str, Any], domain: str) -> dict[str, Any]:
        """POST /v10/projects/{idOrName}/domains: a production domain, assigned to the production deployment."""
        with self.lock:
            if domain not in project["domains"]:
                project["domains"].append(domain)
            if project["production"]:
                self.assign(project["production"], domain, "domain")
        at = now_ms()
        return {"name": domain, "apexName": ".".join(domain.split(".")[-2:]), "projectId": project["id"],
                "verified": True, "createdAt": at, "updatedAt": at}

    def assign(self, dep_id: str, alias: str, via: str = "alias") -> dict[str, Any]:
        with self.lock:
            old = self.aliases.get(alias)
            at = now_ms()
            created = old["createdAt"] if old else at
            rec = {"uid": old["uid"] if old else f"als_{secrets.token_hex(8)}", "alias": alias,
                   "deploymentId": dep_id, "projectId": self.deployments[dep_id]["projectId"],
                   "created": iso(created), "createdAt": created, "updatedAt": at}
            self.aliases[alias] = rec
            self.transitions.append({"at": at / 1000, "alias": alias, "from": old["deploymentId"] if old else None,
                                     "to": dep_id, "via": via})
        return {"uid": rec["uid"], "alias": alias, "created": rec["created"],
                "oldDeploymentId": old["deploymentId"] if old else None}

    def find_alias(self, key: str) -> dict[str, Any] | None:
        with self.lock:
            if key in self.aliases:
                return self.aliases[key]
            return next((a for a in self.aliases.values() if a["uid"] == key), None)

    def alias_in_scope(self, key: str, scope: str | None) -> dict[str, Any]:
        """The alias (domain or uid) in scope: its project's team."""
        check_team(self.teams, scope)
        rec = self.find_alias(key)
        if rec is None:
            raise Refused(404, "not_found", f"The alias {key} was not found")
        in_scope(self.projects[rec["projectId"]]["teamId"], scope, f"The alias {key}")
        return rec

    def delete_alias(self, key: str) -> bool:
        rec = self.find_alias(key)
        if rec is None:
            return False
        with self.lock:
            del self.aliases[rec["alias"]]
            self.transitions.append({"at": time.time(), "alias": rec["alias"], "from": rec["deploymentId"],
                                     "to": None, "via": "delete"})
        return True


def _first(query: dict[str, list[str]], key: str) -> str | None:
    """A query parameter's first value, or None."""
    values = query.get(key)
    return values[0] if values else None


def make_handler(store: Store, token: str) -> type[BaseHTTPRequestHandler]:
    """Request handler bound to a store and the bearer token it requires on /v* routes."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        scope: str | None = None  # the request's teamId (None: the personal account)

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if body is not None:
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
            self.scope = _first(query, "teamId")
            for pattern, handler_method, fn in ROUTES:
                m = re.fullmatch(pattern, path)
                if m and handler_method == method:
                    try:
                        return fn(self, *m.groups())
                    except Refused as err:
                        return self._send(err.status, err.body())
            return self._send(404, {"error": {"code": "not_found", "message": f"{method} {path}"}})

        def _standin(self, method: str, path: str, query: dict[str, list[str]]) -> None:
            if path == "/_standin/transitions":
                with store.lock:
                    return self._send(200, {"transitions": list(store.transitions)})
            if path == "/_standin/requests":
                since = _first(query, "since")
                try:
                    after = float(since) if since is not None else None
                except ValueError:
                    return self._send(400, {"error": {"code": "bad_request", "message": "since: epoch seconds"}})
                return self._send(200, {"requests": store.requests.query(_first(query, "alias"), after)})
            m = re.fullmatch(r"/_standin/app/([^/]+)", path)
            if m and method == "PATCH":
                return self._app_database(m.group(1))
            m = re.fullmatch(r"/_standin/app/([^/]+)(/.*)?", path)
            if m:
                return self._app(m.group(1), m.group(2) or "/")
            m = re.fullmatch(r"/_standin/metrics/([^/]+)/api/v1/query", path)
            if m:
                return self._metric(m.group(1), (query.get("query") or [""])[0])
            m = re.fullmatch(r"/_standin/projects/([^/]+)/alias-jobs", path)
            if m and method == "PATCH":
                return self._alias_jobs(m.group(1))
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

        def _alias_jobs(self, key: str) -> None:
            """How the project's next rollback and promote jobs end, and after how many seconds."""
            if not self._authorized():
                return None
            body = self._body()
            outcome, after = body.get("outcome", "succeeded"), body.get("after_s", 0)
            if outcome not in ("succeeded", "failed", "pending") or isinstance(after, bool) or not isinstance(
                    after, int | float) or after < 0:
                return self._send(400, {"error": {"code": "bad_request", "message": "outcome: succeeded, failed or "
                                                  "pending; after_s: seconds >= 0"}})
            with store.lock:
                found = store.projects.get(key) or next((p for p in store.projects.values() if p["name"] == key),
                                                        None)
                if found is None:
                    return self._send(404, {"error": {"code": "not_found", "message": "Project not found"}})
                store.alias_jobs[found["id"]] = (outcome, float(after))
                running = found["lastAliasRequest"]
            if running and running["jobStatus"] == "in-progress" and outcome != "pending":  # it ends that way too
                timer = threading.Timer(float(after), store.end_alias_request, (found, running, outcome))
                timer.daemon = True
                timer.start()
            return self._send(200, {"projectId": found["id"], "outcome": outcome, "after_s": after})

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
        h._send(200, store.create_deployment(h._body(), h.scope))

    def get_deployment(h: Handler, key: str) -> None:
        h._send(200, deployment_body(store.deployment(key, h.scope)))

    def assign_alias(h: Handler, dep_id: str) -> None:
        alias = str(h._body().get("alias") or "")
        store.deployment(dep_id, h.scope)
        if not alias:
            return h._send(400, {"error": {"code": "bad_request", "message": "alias is required"}})
        return h._send(200, store.assign(dep_id, alias))

    def deployment_aliases(h: Handler, dep_id: str) -> None:
        store.deployment(dep_id, h.scope)
        with store.lock:
            found = [a for a in store.aliases.values() if a["deploymentId"] == dep_id]
        h._send(200, {"aliases": found})

    def list_aliases(h: Handler) -> None:
        check_team(store.teams, h.scope)
        with store.lock:
            found = [a for a in store.aliases.values() if store.projects[a["projectId"]]["teamId"] == h.scope]
        h._send(200, {"aliases": found, "pagination": {"count": len(found), "next": None, "prev": None}})

    def get_alias(h: Handler, key: str) -> None:
        h._send(200, store.alias_in_scope(key, h.scope))

    def delete_alias(h: Handler, key: str) -> None:
        store.delete_alias(store.alias_in_scope(key, h.scope)["alias"])
        return h._send(200, {"status": "SUCCESS"})

    def create_project(h: Handler) -> None:
        h._send(200, project_body(store.create_project(h._body(), h.scope), store.deployments))

    def get_project(h: Handler, key: str) -> None:
        h._send(200, project_body(store.project(key, h.scope), store.deployments))

    def add_domain(h: Handler, key: str) -> None:
        domain = str(h._body().get("name") or "")
        if not domain:
            return h._send(400, {"error": {"code": "bad_request", "message": "name is required"}})
        return h._send(200, store.add_domain(store.project(key, h.scope), domain))

    def rollback(h: Handler, key: str, dep_id: str) -> None:
        store.alias_request(store.project(key, h.scope), dep_id, "rollback")
        h._send(201, None)

    def promote(h: Handler, key: str, dep_id: str) -> None:
        store.alias_request(store.project(key, h.scope), dep_id, "promote")
        h._send(201, None)

    ROUTES: list[tuple[str, str, Callable[..., None]]] = [
        (r"/v13/deployments", "POST", create_deployment),
        (r"/v13/deployments/([^/]+)", "GET", get_deployment),
        (r"/v2/deployments/([^/]+)/aliases", "POST", assign_alias),
        (r"/v2/deployments/([^/]+)/aliases", "GET", deployment_aliases),
        (r"/v4/aliases", "GET", list_aliases),
        (r"/v4/aliases/([^/]+)", "GET", get_alias),
        (r"/v2/aliases/([^/]+)", "DELETE", delete_alias),
        (r"/v11/projects", "POST", create_project),
        (r"/v9/projects/([^/]+)", "GET", get_project),
        (r"/v10/projects/([^/]+)/domains", "POST", add_domain),
        (r"/v1/projects/([^/]+)/rollback/([^/]+)", "POST", rollback),
        (r"/v10/projects/([^/]+)/promote/([^/]+)", "POST", promote),
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
