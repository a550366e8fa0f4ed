"""Connection settings read from the provider process environment at run time (never from resource inputs)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
S3_CONFIG: dict[str, Any] = {"retries": {"total_max_attempts": 1}, "connect_timeout": 5, "read_timeout": 15}
# botocore's own retries off: a step's retry budget retries S3 (retrying.s3_call), honouring the same headers


class MissingSetting(RuntimeError):
    """A required environment variable is not set in the provider process."""


def require(name: str) -> str:
    """The value of environment variable `name`, or an error naming it."""
    value = os.environ.get(name, "")
    if not value:
        raise MissingSetting(f"{name} is not set in the environment of the Pulumi provider process")
    return value


def database_url() -> str:
    """The target database (DATABASE_URL)."""
    return require("DATABASE_URL")


def shadow_server_url() -> str:
    """Where scratch (shadow) databases are created: SHADOW_DATABASE_URL (a server's maintenance database, as
    Prisma's shadowDatabaseUrl), else DATABASE_URL's own server."""
    return os.environ.get("SHADOW_DATABASE_URL") or database_url()


def has_shadow_server() -> bool:
    """Whether SHADOW_DATABASE_URL names a separate server for scratch databases."""
    return bool(os.environ.get("SHADOW_DATABASE_URL"))


def database_name() -> str:
    """The database name of DATABASE_URL (safe to show: no credentials)."""
    return str(conninfo_to_dict(database_url()).get("dbname") or "")


def libpq_env(dsn: str | None = None) -> dict[str, str]:
    """PG* variables for pg_dump/pg_restore, so the password never appears on a command line."""
    parts = conninfo_to_dict(dsn or database_url())
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
             "dbname": "PGDATABASE", "sslmode": "PGSSLMODE"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") or k == "PG_BINDIR"}
    env.update({names[k]: str(v) for k, v in parts.items() if k in names and v is not None})
    return env


def pg_tool(name: str) -> str:
    """Path of a PostgreSQL client tool: PG_BINDIR when set, else PATH lookup by name."""
    bindir = os.environ.get("PG_BINDIR")
    return str(Path(bindir) / name) if bindir else name


def s3_client() -> Any:
    """A boto3 S3 client for AWS_ENDPOINT_URL (moto in the sandbox) and the ambient AWS credentials; one attempt
    per request (the step's retry budget retries, retrying.s3_call)."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None, config=Config(**S3_CONFIG),
                        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")


def snapshot_bucket() -> str:
    """The S3 bucket for pg_dump snapshots (ROLLBACK_SNAPSHOT_BUCKET)."""
    return require("ROLLBACK_SNAPSHOT_BUCKET")


def vercel_api() -> tuple[str, dict[str, str]]:
    """Base URL and auth headers for the Vercel REST API (VERCEL_API_URL, VERCEL_TOKEN)."""
    base = os.environ.get("VERCEL_API_URL", "https://api.vercel.com").rstrip("/")
    return base, {"Authorization": f"Bearer {require('VERCEL_TOKEN')}"}


def expand(text: str) -> str:
    """Replace ${ENV_VAR} placeholders from the environment; an unset variable is an error naming it."""
    def one(m: re.Match[str]) -> str:
        return require(m.group(1))

    return PLACEHOLDER.sub(one, text)
