"""Renames in up files (read with PostgreSQL's parser), and the SQL that undoes them.

pg-schema-diff matches objects by name, so a rename since version N would come back as drop + add (the data of a
renamed table or column lost). The renames are undone first, newest first: undoing them in reverse order names
every object as it was right after its rename (a column renamed on a table renamed later is undone after the
table got its old name back). Renames of objects a later file drops are not undone (there is nothing to rename;
the diff recreates the old object). Handled: tables, views, materialized views, sequences, indexes, foreign
tables, columns, table constraints, types and domains, enum values. Not handled (the proof refuses what they leave
behind): ALTER ... SET SCHEMA, renames inside DO blocks or functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pglast import ast, parser
from pglast.enums.parsenodes import AlterTableType, ObjectType

_RELATIONS = {ObjectType.OBJECT_TABLE: "TABLE", ObjectType.OBJECT_VIEW: "VIEW",
              ObjectType.OBJECT_MATVIEW: "MATERIALIZED VIEW", ObjectType.OBJECT_SEQUENCE: "SEQUENCE",
              ObjectType.OBJECT_INDEX: "INDEX", ObjectType.OBJECT_FOREIGN_TABLE: "FOREIGN TABLE"}
_TYPES = {ObjectType.OBJECT_TYPE: "TYPE", ObjectType.OBJECT_DOMAIN: "DOMAIN"}
_DROPPED_RELATIONS = (*_RELATIONS, ObjectType.OBJECT_TABLE)


@dataclass(frozen=True)
class Rename:
    """One rename: of a relation or type (`owner` is its qualified name before), or of a column, constraint or
    enum value (`owner` is its table or type as named then); old and new are unqualified names or labels."""

    kind: str  # "TABLE", "VIEW", ..., "TYPE", "DOMAIN", "COLUMN", "CONSTRAINT", "VALUE"
    owner: tuple[str, ...]
    old: str
    new: str
    owner_kind: str = "TABLE"  # ALTER <owner_kind> for a column rename (a view's columns: VIEW)


def quote(name: str) -> str:
    """An identifier, double-quoted (names from the parser are already case-folded)."""
    return '"' + name.replace('"', '""') + '"'


def qualified(parts: Sequence[str]) -> str:
    """A qualified name, each part quoted."""
    return ".".join(quote(p) for p in parts)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _range_parts(rel: ast.RangeVar) -> tuple[str, ...]:
    return tuple(p for p in (rel.schemaname, rel.relname) if p)


def _names(obj: object) -> tuple[str, ...]:
    return tuple(str(getattr(p, "sval", "")) for p in obj) if isinstance(obj, tuple | list) else ()


def _rename(stmt: ast.RenameStmt) -> Rename | None:
    kind = stmt.renameType
    if kind in _RELATIONS and stmt.relation is not None:
        return Rename(_RELATIONS[kind], _range_parts(stmt.relation), _range_parts(stmt.relation)[-1],
                      str(stmt.newname))
    if kind == ObjectType.OBJECT_COLUMN and stmt.relation is not None and stmt.relationType in _RELATIONS:
        return Rename("COLUMN", _range_parts(stmt.relation), str(stmt.subname), str(stmt.newname),
                      _RELATIONS[stmt.relationType])
    if kind == ObjectType.OBJECT_TABCONSTRAINT and stmt.relation is not None:
        return Rename("CONSTRAINT", _range_parts(stmt.relation), str(stmt.subname), str(stmt.newname))
    if kind in _TYPES:
        names = _names(stmt.object)
        return Rename(_TYPES[kind], names, names[-1], str(stmt.newname)) if names else None
    return None


def _qualify(owner: tuple[str, ...], name: str) -> tuple[str, ...]:
    """The name of a renamed relation or type: in the schema it was in."""
    return (*owner[:-1], name)


def extract(sql_texts: Sequence[str]) -> list[Rename]:
    """The renames in these files, in order, without those of objects a later statement drops."""
    found: list[tuple[Rename, tuple[str, ...]]] = []  # each rename, with the object's identity (its first name)
    current: dict[tuple[str, ...], tuple[str, ...]] = {}  # an object's name now -> its identity
    gone: set[tuple[str, ...]] = set()

    def ident(key: tuple[str, ...]) -> tuple[str, ...]:
        """The identity of what key names now (its key when it was never renamed)."""
        key = _normal(key) if key[0] in ("rel", "type") else key
        return current.get(key, key)

    for text in sql_texts:
        try:
            stmts = parser.parse_sql(text)
        except parser.ParseError:
            continue  # the replay in the shadow reports it
        for raw in stmts:
            stmt = raw.stmt
            if isinstance(stmt, ast.RenameStmt):
                rename = _rename(stmt)
                if rename is None:
                    continue
                if rename.kind in ("COLUMN", "CONSTRAINT"):
                    key = ("col", *ident(("rel", *rename.owner)), rename.old)
                    found.append((rename, ident(key)))
                    current[("col", *ident(("rel", *rename.owner)), rename.new)] = ident(key)
                else:
                    space = "type" if rename.kind in _TYPES.values() else "rel"
                    identity = ident((space, *rename.owner))
                    found.append((rename, identity))
                    current[_normal((space, *_qualify(rename.owner, rename.new)))] = identity
                    current.pop(_normal((space, *rename.owner)), None)
            elif isinstance(stmt, ast.AlterEnumStmt) and stmt.oldVal is not None:
                owner = _names(stmt.typeName)
                key = ("val", *ident(("type", *owner)), str(stmt.oldVal))
                found.append((Rename("VALUE", owner, str(stmt.oldVal), str(stmt.newVal)), ident(key)))
                current[("val", *ident(("type", *owner)), str(stmt.newVal))] = ident(key)
            elif isinstance(stmt, ast.DropStmt):
                space = ("type" if stmt.removeType in _TYPES else
                         "rel" if stmt.removeType in _DROPPED_RELATIONS else "")
                for obj in stmt.objects or ():
                    parts = _names(obj) if space == "rel" else _names(getattr(obj, "names", obj))
                    if space and parts:
                        gone.add(ident((space, *parts)))
            elif isinstance(stmt, ast.AlterTableStmt) and stmt.relation is not None:
                rel = ident(("rel", *_range_parts(stmt.relation)))
                for cmd in stmt.cmds or ():
                    if cmd.subtype in (AlterTableType.AT_DropColumn, AlterTableType.AT_DropConstraint) and cmd.name:
                        gone.add(ident(("col", *rel, str(cmd.name))))
    return [r for r, identity in found if not _dropped(identity, gone)]


def _normal(key: tuple[str, ...]) -> tuple[str, ...]:
    """A relation's or type's key with an unqualified name taken as public's (for matching only)."""
    return (key[0], "public", *key[1:]) if len(key) == 2 else key


def _dropped(identity: tuple[str, ...], gone: set[tuple[str, ...]]) -> bool:
    """Whether the object, or the table or type it belongs to, was dropped later."""
    if identity in gone:
        return True
    return identity[0] in ("col", "val") and identity[1:-1] in gone


def undo(rename: Rename) -> str:
    """The statement that undoes one rename, naming the object as it is right after it."""
    if rename.kind == "COLUMN":
        return (f"ALTER {rename.owner_kind} {qualified(rename.owner)} RENAME COLUMN {quote(rename.new)} "
                f"TO {quote(rename.old)}")
    if rename.kind == "CONSTRAINT":
        return f"ALTER TABLE {qualified(rename.owner)} RENAME CONSTRAINT {quote(rename.new)} TO {quote(rename.old)}"
    if rename.kind == "VALUE":
        return (f"ALTER TYPE {qualified(rename.owner)} RENAME VALUE {_literal(rename.new)} "
                f"TO {_literal(rename.old)}")
    return f"ALTER {rename.kind} {qualified(_qualify(rename.owner, rename.new))} RENAME TO {quote(rename.old)}"


def reverse(renames: Sequence[Rename]) -> list[str]:
    """The SQL that undoes the renames, newest first."""
    return [undo(r) for r in reversed(renames)]


def _parsed(statement: str) -> Rename | None:
    """The rename one statement of reverse() makes, or None."""
    try:
        stmts = parser.parse_sql(statement)
    except parser.ParseError:
        return None
    node = stmts[0].stmt if len(stmts) == 1 else None
    if isinstance(node, ast.RenameStmt):
        return _rename(node)
    if isinstance(node, ast.AlterEnumStmt) and node.oldVal is not None:
        return Rename("VALUE", _names(node.typeName), str(node.oldVal), str(node.newVal))
    return None


def _same(owner: tuple[str, ...], schema: str, name: str) -> bool:
    """Whether a (possibly unqualified) name in a statement names schema.name."""
    return owner[-1] == name and (len(owner) == 1 or owner[0] == schema)


def live_name(reversed_sql: Sequence[str], name: tuple[str, ...], kind: str) -> tuple[str, ...]:
    """The live name of what `name` names once the reversed renames ran (kind: relation, type, column or value)."""
    space = ("TYPE", "DOMAIN") if kind in ("type", "value") else tuple(_RELATIONS.values())
    cur = tuple(name)
    for rename in reversed([r for r in map(_parsed, reversed_sql) if r is not None]):
        schema, obj = cur[0], cur[1]
        if rename.kind in space and _same(_qualify(rename.owner, rename.new), schema, obj):
            cur = (schema, rename.old, *cur[2:])
        elif kind == "column" and rename.kind == "COLUMN" and _same(rename.owner, schema, obj) \
                and cur[2] == rename.new:
            cur = (schema, obj, rename.old)
        elif kind == "value" and rename.kind == "VALUE" and _same(rename.owner, schema, obj) \
                and cur[2] == rename.new:
            cur = (schema, obj, rename.old)
    return cur
