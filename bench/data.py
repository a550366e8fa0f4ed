"""Bulk data for the database benchmarks: extra tables filled with generate_series to a target size."""

from __future__ import annotations

import psycopg

ROW_BYTES = 260  # measured on-disk bytes per row of bench_events incl. its two indexes (PostgreSQL 15)
TABLES = 4


def fill(dsn: str, megabytes: int, *, tables: int = TABLES) -> dict[str, int]:
    """Create bench_events_1..tables (id PK, user id, time, kind, payload; one secondary index) totalling about
    megabytes MB with their indexes; returns the database size and rows written."""
    rows = max(10, megabytes * 1024 * 1024 // ROW_BYTES // tables)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for t in range(1, tables + 1):
            conn.execute(f"DROP TABLE IF EXISTS public.bench_events_{t}")
            conn.execute(f"""CREATE TABLE public.bench_events_{t} (
                id bigint PRIMARY KEY, user_id uuid NOT NULL, at timestamptz NOT NULL, kind text NOT NULL,
                amount_cents bigint NOT NULL, payload text NOT NULL)""")
            conn.execute(f"""INSERT INTO public.bench_events_{t}
                SELECT g, md5((g % 50000)::text)::uuid, timestamptz '2026-01-01' + g * interval '1 second',
                       (ARRAY['signup','order','refund','login','notify'])[1 + g % 5], (g::bigint * 7919) % 100000,
                       md5(g::text) || ' ' || md5((g + {t})::text) || ' ' || repeat(chr(97 + g % 26), g % 40)
                FROM generate_series(1, {rows}) g""")
            conn.execute(f"CREATE INDEX bench_events_{t}_user_at ON public.bench_events_{t} (user_id, at)")
            conn.execute(f"ANALYZE public.bench_events_{t}")
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {"rows": rows * tables, "tables": tables, "database_bytes": int(size)}


def clone(admin_dsn: str, source: str, target: str) -> None:
    """CREATE DATABASE target as a file copy of source (no connection may be open on source)."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}" STRATEGY FILE_COPY')


def drop(admin_dsn: str, name: str) -> None:
    """Drop database name if it exists (closing its connections)."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
