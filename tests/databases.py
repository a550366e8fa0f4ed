"""Per-test databases on the sandbox server (created and dropped through its maintenance database)."""

from __future__ import annotations

import uuid

import psycopg


def admin_dsn(sandbox) -> str:
    """The sandbox server's maintenance database."""
    return sandbox.database_url.rsplit("/", 1)[0] + "/postgres"


def create_database(sandbox, prefix: str = "t") -> str:
    """A new empty database on the sandbox server; returns its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn(sandbox), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return sandbox.database_url.rsplit("/", 1)[0] + "/" + name


def drop_database(sandbox, dsn: str) -> None:
    """Drop a database created by create_database."""
    with psycopg.connect(admin_dsn(sandbox), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {dsn.rsplit('/', 1)[1]} WITH (FORCE)")
