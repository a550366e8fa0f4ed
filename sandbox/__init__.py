"""The embedded sandbox: real PostgreSQL, Redis, moto (S3, RDS, SSM) and the Vercel stand-in, on loopback.

Everything lives in one directory (services' data, logs, the `local` stack's state backend); `down`
stops every process and removes the directory, so the next `up` starts with no stale state.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rollback.errors import RollbackError
from sandbox import postgres, processes, redis_server
from sandbox.standin_app import APP_DATABASE_ENV

SNAPSHOT_BUCKET = "rollback-snapshots"
STATE_BUCKET = "rollback-state"  # the `local` stack's state with `up(backend="s3")`
BACKENDS = ("file", "s3")
DEFAULT_DIR = Path(tempfile.gettempdir()) / f"rollback-sandbox-{os.getuid()}"


@dataclass
class Sandbox:
    """A running sandbox: where it lives, its service endpoints, pids and credentials."""

    root: str
    pg: dict[str, str | int]
    moto: dict[str, int]
    vercel: dict[str, int]
    secrets: dict[str, str] = field(repr=False)
    redis: dict[str, int] = field(default_factory=dict)
    backend: str = "file"  # where the `local` stack's state lives: a directory of the sandbox, or a moto bucket

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres:{self.secrets['pg_password']}@127.0.0.1:{self.pg['port']}/app"

    @property
    def aws_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.moto['port']}"

    @property
    def vercel_api(self) -> str:
        return f"http://127.0.0.1:{self.vercel['port']}"

    @property
    def redis_url(self) -> str:
        return f"redis://:{self.secrets['redis_password']}@127.0.0.1:{self.redis['port']}/0"

    @property
    def backend_url(self) -> str:
        if self.backend == "s3":
            return f"s3://{STATE_BUCKET}?region=us-east-1&endpoint={self.aws_endpoint}&s3ForcePathStyle=true"
        return f"file://{self.root}/state"

    def env(self) -> dict[str, str]:
        """Connection variables for every verb on the `local` stack."""
        return {
            "ROLLBACK_SANDBOX_DIR": self.root,
            "DATABASE_URL": self.database_url,
            "PG_BINDIR": str(self.pg["bindir"]),
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "AWS_ACCESS_KEY_ID": self.secrets["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": self.secrets["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "ROLLBACK_SNAPSHOT_BUCKET": SNAPSHOT_BUCKET,
            "REDIS_URL": self.redis_url,
            "VERCEL_API_URL": self.vercel_api,
            "VERCEL_TOKEN": self.secrets["vercel_token"],
            "PULUMI_BACKEND_URL": self.backend_url,
            "PULUMI_CONFIG_PASSPHRASE": self.secrets["pulumi_passphrase"],
        }

    def secret_values(self) -> list[str]:
        """Every credential of this sandbox (for leak checks)."""
        return list(self.secrets.values())


def _record(root: Path) -> Path:
    return root / "sandbox.json"


def load(root: Path = DEFAULT_DIR) -> Sandbox:
    """The sandbox running in root, or an error saying how to start one."""
    rec = _record(root)
    if not rec.exists():
        raise RollbackError(f"no sandbox is running in {root}: start one with `rollback sandbox up`.")
    return Sandbox(**json.loads(rec.read_text()))


def up(root: Path = DEFAULT_DIR, backend: str = "file") -> Sandbox:
    """Start PostgreSQL, moto and the Vercel stand-in in root (which must not hold a sandbox); the `local` stack's
    state in root (backend "file") or in moto's bucket STATE_BUCKET (backend "s3")."""
    if backend not in BACKENDS:
        raise RollbackError(f"--backend {backend!r}: the sandbox keeps state in one of {', '.join(BACKENDS)}")
    if _record(root).exists():
        raise RollbackError(f"a sandbox is already running in {root}: use it, or `rollback sandbox down` first.")
    root.mkdir(mode=0o711, parents=True, exist_ok=True)
    os.chmod(root, 0o711)  # the postgres server user must traverse into root/pg
    (root / "state").mkdir(exist_ok=True)
    creds = {
        "pg_password": secrets.token_urlsafe(18),
        "aws_access_key_id": "AKIA" + secrets.token_hex(8).upper(),
        "aws_secret_access_key": secrets.token_urlsafe(30),
        "vercel_token": "vt_" + secrets.token_urlsafe(24),
        "pulumi_passphrase": secrets.token_urlsafe(18),
        "redis_password": secrets.token_hex(16),
    }
    sandbox = Sandbox(root=str(root), pg={}, moto={}, vercel={}, secrets=creds, backend=backend)
    try:
        sandbox.pg = postgres.start(root, processes.free_port(), creds["pg_password"])
        _save(sandbox)
        sandbox.redis = redis_server.start(root, processes.free_port(), creds["redis_password"])
        _save(sandbox)
        sandbox.moto = _start_python_service(root, "moto", ["-m", "moto.server", "-H", "127.0.0.1", "-p"], {})
        _save(sandbox)
        sandbox.vercel = _start_python_service(root, "vercel", ["-m", "sandbox.vercel_standin", "--port"],
                                               {"VERCEL_TOKEN": creds["vercel_token"],
                                                APP_DATABASE_ENV: sandbox.database_url})
        _save(sandbox)
        _prepare(sandbox)
    except BaseException:
        down(root)
        raise
    return sandbox


def _start_python_service(root: Path, name: str, argv: list[str], env: dict[str, str]) -> dict[str, int]:
    port = processes.free_port()
    log = root / f"{name}.log"
    pythonpath = os.pathsep.join(p for p in [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")]
                                 if p)
    pid = processes.spawn([sys.executable, *argv, str(port)], log, {**env, "PYTHONPATH": pythonpath})
    processes.wait_listening(port, name, log)
    return {"pid": pid, "port": port}


HEALTHY_META = {"metrics": {"error_rate": 0.01, "latency_p95_ms": 420, "availability": 0.999}}


def seed_deployments(sandbox: Sandbox, stack: str = "local", settings: dict[str, object] | None = None) -> list[str]:
    """Create in the Vercel stand-in every deployment the stack names (healthy; each version's app with the schema
    range it declares), and its rollback:maintenanceDeployment; with rollback:vercel, in its team's project, whose
    productionDomains it registers."""
    import httpx

    import rollback_stacks
    from rollback.stacks import stack_settings

    deployments: dict[str, dict[str, object]] = {}
    for v in rollback_stacks.load(stack).versions:
        if v.app:
            accepts = v.app.requires_schema.model_dump() if v.app.requires_schema else None
            deployments[v.app.deployment_id] = {"name": v.app.project, "meta": {**HEALTHY_META,
                                                                                 "requires_schema": accepts}}
    settings = stack_settings(stack) if settings is None else settings
    maintenance = settings.get("maintenanceDeployment")
    project = next((str(d["name"]) for d in deployments.values()), "app")
    if maintenance:
        deployments[str(maintenance)] = {"name": project, "meta": {"maintenance": True}}
    configured = settings.get("vercel")
    vercel: dict[str, Any] = configured if isinstance(configured, dict) else {}
    team = vercel.get("teamId")
    project_id = vercel.get("projectId")
    with httpx.Client(base_url=sandbox.vercel_api, timeout=10, params={"teamId": team} if team else None,
                      headers={"Authorization": f"Bearer {sandbox.secrets['vercel_token']}"}) as client:
        if project_id:
            client.post("/v11/projects", json={"name": project, "id": project_id}).raise_for_status()
        for dep_id, body in sorted(deployments.items()):
            client.post("/v13/deployments", json={"id": dep_id, **body,
                                                  **({"project": project_id} if project_id else {})}
                        ).raise_for_status()
        for domain in vercel.get("productionDomains") or []:
            client.post(f"/v10/projects/{project_id}/domains", json={"name": domain}).raise_for_status()
    return sorted(deployments)


def _prepare(sandbox: Sandbox) -> None:
    """Create the app database, the snapshot and state buckets and the `local` stack's deployments."""
    import boto3
    import psycopg

    admin = sandbox.database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE app")
    env = sandbox.env()
    s3 = boto3.client("s3", endpoint_url=sandbox.aws_endpoint, region_name="us-east-1",
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    for bucket in (SNAPSHOT_BUCKET, STATE_BUCKET):
        s3.create_bucket(Bucket=bucket)
    seed_deployments(sandbox)


def _save(sandbox: Sandbox) -> None:
    rec = _record(Path(sandbox.root))
    fd = os.open(rec, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(sandbox), f)


@contextmanager
def private(prefix: str, backend: str = "file") -> Iterator[Sandbox]:
    """A sandbox of its own in a fresh temp dir (never the user's), stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.rmdir()  # up() creates it with the permissions the postgres user needs
    sb = up(root, backend)
    try:
        yield sb
    finally:
        down(root)


def down(root: Path = DEFAULT_DIR) -> bool:
    """Stop every sandbox process and remove root; returns whether anything was there."""
    if not root.exists():
        return False
    rec = _record(root)
    if rec.exists():
        data = json.loads(rec.read_text())
        for svc in ("vercel", "moto", "redis"):
            if data.get(svc, {}).get("pid"):
                processes.stop(int(data[svc]["pid"]))
        if data.get("pg"):
            postgres.stop(data["pg"])
    elif (root / "pg" / "data" / "postmaster.pid").exists():
        postgres.stop({"data": str(root / "pg" / "data"), "bindir": str(postgres.bindir())})
    shutil.rmtree(root, ignore_errors=True)
    return True
