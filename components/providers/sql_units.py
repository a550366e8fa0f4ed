"""A migration file as execution units: statement groups that commit together, and statements that must run alone.

golang-migrate's postgres driver sends a file as one multi-statement query: PostgreSQL runs it as one implicit
transaction unless the file has its own BEGIN/COMMIT, and refuses statements such as CREATE INDEX CONCURRENTLY
inside any transaction. We split the file with PostgreSQL's own parser (libpg_query, through pglast) and run:
- the statements between transaction boundaries (the file's COMMIT/END, or a statement that cannot run in a
  transaction) as one unit, in one transaction (the file's BEGIN/COMMIT themselves are not sent);
- each statement that cannot run inside a transaction block alone, outside any transaction.
A file with one unit of the first kind is atomic: its version row commits with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pglast import ast, parser
from pglast.enums.parsenodes import ObjectType, ReindexObjectType, TransactionStmtKind
from pglast.visitors import Visitor

# Statement kinds PostgreSQL refuses inside a transaction block (PreventInTransactionBlock callers).
_ALWAYS_OUTSIDE = (ast.VacuumStmt, ast.CreatedbStmt, ast.DropdbStmt, ast.CreateTableSpaceStmt,
                   ast.DropTableSpaceStmt, ast.AlterSystemStmt, ast.CreateSubscriptionStmt,
                   ast.DropSubscriptionStmt)
_BEGIN = (TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START)
_REFUSED = {TransactionStmtKind.TRANS_STMT_ROLLBACK: "ROLLBACK",
            TransactionStmtKind.TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
            TransactionStmtKind.TRANS_STMT_COMMIT_PREPARED: "COMMIT PREPARED",
            TransactionStmtKind.TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED"}
_TABLES = (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW, ObjectType.OBJECT_FOREIGN_TABLE)
_ON_TABLE = (ObjectType.OBJECT_TRIGGER, ObjectType.OBJECT_RULE, ObjectType.OBJECT_POLICY)


class UnitError(Exception):
    """A file whose transaction control cannot be run truthfully (ROLLBACK, BEGIN without COMMIT, ...)."""


@dataclass(frozen=True)
class Unit:
    """SQL sent in one go: in one transaction (transactional) or alone outside any transaction."""

    sql: str
    transactional: bool


def outside_transaction(stmt: ast.Node | None) -> bool:
    """Whether PostgreSQL refuses this statement inside a transaction block."""
    if isinstance(stmt, _ALWAYS_OUTSIDE):
        return True
    if isinstance(stmt, ast.IndexStmt | ast.DropStmt):
        return bool(stmt.concurrent)
    if isinstance(stmt, ast.ReindexStmt):
        concurrent = any(getattr(p, "defname", "") == "concurrently" for p in stmt.params or ())
        return concurrent or stmt.kind in (ReindexObjectType.REINDEX_OBJECT_SYSTEM,
                                           ReindexObjectType.REINDEX_OBJECT_DATABASE)
    if isinstance(stmt, ast.AlterTableStmt):  # ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY
        return any(getattr(getattr(c, "def_", None), "concurrent", False) for c in stmt.cmds or ())
    if isinstance(stmt, ast.AlterSubscriptionStmt):
        return True
    return False


def split(name: str, sql: str) -> list[Unit]:
    """The file's units in order; a file PostgreSQL's parser rejects is one unit (the server reports the error)."""
    try:
        raw = parser.parse_sql(sql)
    except parser.ParseError:
        return [Unit(sql, True)]
    units: list[Unit] = []
    group: list[str] = []
    in_block = False

    def flush() -> None:
        if group:
            units.append(Unit(";\n".join(group) + ";", True))
            group.clear()

    for item in raw:
        stmt = item.stmt
        start = item.stmt_location or 0  # pglast gives character offsets; a length of 0 means "to the end"
        text = sql[start:start + item.stmt_len if item.stmt_len else len(sql)].strip()
        if isinstance(stmt, ast.TransactionStmt):
            kind = stmt.kind
            if kind in _BEGIN:
                if in_block:
                    raise UnitError(f"{name}: BEGIN inside a transaction block it opened before")
                in_block = True
                continue
            if kind == TransactionStmtKind.TRANS_STMT_COMMIT:
                in_block = False
                flush()
                continue
            if kind in _REFUSED:
                raise UnitError(f"{name} has a top-level {_REFUSED[kind]}: a migration that discards or defers its "
                                "own work cannot be recorded truthfully; remove it (a failing statement already "
                                "rolls its transaction back)")
        if outside_transaction(stmt) and not in_block:
            flush()
            units.append(Unit(text, False))
            continue
        group.append(text)
    if in_block:
        raise UnitError(f"{name} opens a transaction with BEGIN and never commits it: add COMMIT; at its end")
    flush()
    return units or [Unit("", True)]  # an empty file still moves the version, as with golang-migrate


def mode(units: list[Unit]) -> str:
    """How a file runs: `atomic` (one transaction with its version row), else `own-transactions` or
    `outside-transaction` (the plan's marker: such a file commits in parts, tracked so a re-run resumes)."""
    if len(units) <= 1 and all(u.transactional for u in units):
        return "atomic"
    return "own-transactions" if all(u.transactional for u in units) else "outside-transaction"


class _Relations(Visitor):
    """Collects the tables a statement names (quoted, for to_regclass)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def _add(self, *parts: str | None) -> None:
        name = ".".join('"' + p.replace('"', '""') + '"' for p in parts if p)
        if name and name not in self.names:
            self.names.append(name)

    def visit_RangeVar(self, _ancestors: object, node: ast.RangeVar) -> None:
        self._add(node.schemaname, node.relname)

    def visit_DropStmt(self, _ancestors: object, node: ast.DropStmt) -> None:
        kind = node.removeType
        for obj in node.objects or ():
            parts = [getattr(p, "sval", None) for p in obj] if isinstance(obj, tuple | list) else []
            if kind in _ON_TABLE:
                parts = parts[:-1]  # DROP TRIGGER t ON table: the object list ends with the trigger's name
            elif kind not in _TABLES:
                continue
            self._add(*parts)


def relations(sql: str) -> list[str]:
    """Tables the SQL names (altered, dropped, read or written), for the plan's blocker check; [] if unparsable."""
    try:
        raw = parser.parse_sql(sql)
    except parser.ParseError:
        return []
    found = _Relations()
    for item in raw:
        if item.stmt is not None:  # always set by the parser; typed optional
            found(item.stmt)
    return found.names
