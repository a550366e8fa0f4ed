"""stripe/pg-schema-diff's `plan` between two databases, as Statements; its failures as one-line refusals.

Passwords reach it through a private passfile (PGPASSFILE), never its command line. Its own plan validation is
off: the generator proves the whole way back on a copy of live, which checks more than it would.

Known gap handled here: pg-schema-diff adds CONCURRENTLY to a CREATE INDEX with a line-anchored regex, so an index
whose definition PostgreSQL prints on several lines (an expression with CASE) fails the whole plan. Then the plan
is made again with --no-concurrent-index-ops and each plain CREATE INDEX it builds on a non-partitioned table is
made CONCURRENTLY again with PostgreSQL's parser (pglast), with pg-schema-diff's timeout and hazard for
concurrent builds; its index drops stay plain (a brief ACCESS EXCLUSIVE lock, which their hazard says).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pglast import ast, parser
from pglast.stream import RawStream
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from components.providers import schema_diff_bin, sql_units
from components.providers.wayback.model import Hazard, Statement

TIMEOUT_S = 600
CONCURRENT_BUILD_MS = 20 * 60 * 1000  # pg-schema-diff's statement timeout for concurrent index builds
INDEX_BUILD = Hazard("INDEX_BUILD", "This might affect database performance. Concurrent index builds require a "
                     "non-trivial amount of CPU, potentially affecting database performance. They also can take a "
                     "while but do not lock out writes.")
_SHARE_LOCK = "ACQUIRES_SHARE_LOCK"
# What pgx (its Go driver) reads from a conninfo; any other key it would send to the server as a setting.
PGX_KEYS = frozenset({"host", "port", "dbname", "user", "connect_timeout", "sslmode", "sslkey", "sslcert",
                      "sslrootcert", "target_session_attrs", "options", "application_name"})
_MULTILINE_MARK = "modifying index def statement to concurrently: "
_MULTILINE_END = " follows an unexpected structure"


class SchemaDiffFailed(RuntimeError):
    """pg-schema-diff could not plan; the message is one line and names the object when it can."""


def _passfile(folder: str, conninfos: Sequence[str]) -> tuple[list[str], str]:
    """The conninfos without passwords, and a passfile holding their passwords."""
    lines, bare = [], []
    for info in conninfos:
        parts = {k: v for k, v in conninfo_to_dict(info).items() if k in PGX_KEYS}
        password = conninfo_to_dict(info).get("password")
        bare.append(make_conninfo("", **parts))
        if password:
            fields = [str(parts.get(k) or d) for k, d in (("host", "*"), ("port", "*"), ("dbname", "*"),
                                                          ("user", "*"))] + [str(password)]
            lines.append(":".join(f.replace("\\", "\\\\").replace(":", "\\:") for f in fields))
    path = Path(folder) / "pgpass"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return bare, str(path)


def run_plan(from_conninfo: str, to_conninfo: str, exclude_schemas: Sequence[str] = (),
             no_concurrent: bool = False) -> dict[str, Any]:
    """pg-schema-diff plan --output-format json from one database to another; SchemaDiffFailed on failure."""
    binary = schema_diff_bin.require_pg_schema_diff()
    with tempfile.TemporaryDirectory(prefix="rollback-schema-diff-") as folder:
        (from_dsn, to_dsn), passfile = _passfile(folder, [from_conninfo, to_conninfo])
        argv = [str(binary), "plan", "--from-dsn", from_dsn, "--to-dsn", to_dsn, "--output-format", "json",
                "--disable-plan-validation", *[f"--exclude-schema={s}" for s in exclude_schemas]]
        if no_concurrent:
            argv.append("--no-concurrent-index-ops")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"PGPASSFILE": passfile}
        try:
            proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise SchemaDiffFailed(f"pg-schema-diff did not finish planning within {TIMEOUT_S}s") from None
    if proc.returncode != 0:
        raise SchemaDiffFailed(describe_failure(proc.stderr))
    try:
        plan: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise SchemaDiffFailed(f"pg-schema-diff printed no JSON plan: {one_line(proc.stdout)}") from None
    return plan


def one_line(text: str, limit: int = 400) -> str:
    """text on one line, whitespace collapsed, cut at limit characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def multiline_index(error: str) -> ast.IndexStmt | None:
    """The index pg-schema-diff could not make concurrent (its definition spans lines), parsed; None otherwise."""
    start = error.find(_MULTILINE_MARK)
    end = error.find(_MULTILINE_END, start)
    if start < 0 or end < 0:
        return None
    try:
        stmts = parser.parse_sql(error[start + len(_MULTILINE_MARK):end])
    except parser.ParseError:
        return None
    stmt = stmts[0].stmt if len(stmts) == 1 else None
    return stmt if isinstance(stmt, ast.IndexStmt) else None


def describe_failure(stderr: str) -> str:
    """pg-schema-diff's error as one line, naming the index when its definition is what failed."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    error = "\n".join(ln for ln in lines if not ln.startswith(("20", "[")))  # drop log lines
    start = error.find("Error:")
    error = error[start + len("Error:"):] if start >= 0 else error
    index = multiline_index(error)
    if index is not None and index.relation is not None:
        table = ".".join(p for p in (index.relation.schemaname, index.relation.relname) if p)
        return (f"pg-schema-diff cannot build index {index.idxname} on {table} CONCURRENTLY (its definition "
                f"spans several lines): {one_line(error, 200)}")
    return f"pg-schema-diff failed: {one_line(error)}"


def _concurrent(stmt: Statement) -> Statement:
    """A plain CREATE INDEX that locks out writes, made CONCURRENTLY (others unchanged)."""
    if not any(h.kind == _SHARE_LOCK for h in stmt.hazards):
        return stmt
    try:
        parsed = parser.parse_sql(stmt.sql)
    except parser.ParseError:
        return stmt
    node = parsed[0].stmt if len(parsed) == 1 else None
    if not isinstance(node, ast.IndexStmt) or node.concurrent:
        return stmt
    node.concurrent = True
    hazards = tuple(h for h in stmt.hazards if h.kind != _SHARE_LOCK) + (INDEX_BUILD,)
    return Statement(RawStream()(node), hazards, CONCURRENT_BUILD_MS, stmt.lock_timeout_ms, False)


def statements(plan: dict[str, Any]) -> list[Statement]:
    """The plan's statements; transactional unless PostgreSQL refuses them in a transaction block."""
    out = []
    for raw in plan.get("statements") or ():
        sql = str(raw["ddl"])
        hazards = tuple(Hazard(str(h.get("type")), str(h.get("message") or "")) for h in raw.get("hazards") or ())
        out.append(Statement(sql, hazards, int(raw.get("timeout_ms") or 0), int(raw.get("lock_timeout_ms") or 0),
                             transactional(sql)))
    return out


def transactional(sql: str) -> bool:
    """Whether every statement of sql may run inside a transaction block (CREATE INDEX CONCURRENTLY may not)."""
    try:
        return not any(sql_units.outside_transaction(s.stmt) for s in parser.parse_sql(sql))
    except parser.ParseError:
        return True


def plan(from_conninfo: str, to_conninfo: str, exclude_schemas: Sequence[str] = ()) -> tuple[list[Statement],
                                                                                              list[str]]:
    """(statements from one database to the other, notes); SchemaDiffFailed when pg-schema-diff cannot plan."""
    try:
        return statements(run_plan(from_conninfo, to_conninfo, exclude_schemas)), []
    except SchemaDiffFailed as err:
        if "CONCURRENTLY (its definition spans several lines)" not in str(err):
            raise
        note = (f"{str(err).split(':', 1)[0]}: planned with --no-concurrent-index-ops, then each index build made "
                "CONCURRENTLY again with PostgreSQL's parser (index drops stay plain)")
    return [_concurrent(s) for s in statements(run_plan(from_conninfo, to_conninfo, exclude_schemas, True))], [note]
