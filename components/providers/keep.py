"""Kept values: what a down step destroys, copied aside in the transaction that destroys it, and put back by key when a
later rollout re-applies the version whose down dropped them.

Each kept set is one table `rollback_control.kept_<id>` and one row of `rollback_control.kept_sets` tagged with the
rollout, the version it came from, the schema version whose down ran and a checksum of its rows. The table has the
key columns and the kept columns under their own names (whole rows: every column), each in its own type when that is
a built-in one and as its text otherwise (a type the down drops, with CASCADE, would take a column of its own type
along); a restore casts them to the live column's type when it differs. Nothing here returns a value: only names and
counts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from components.providers import data_loss

DDL = """CREATE SCHEMA IF NOT EXISTS rollback_control;
CREATE TABLE IF NOT EXISTS rollback_control.kept_sets (
  id text PRIMARY KEY, n bigint GENERATED ALWAYS AS IDENTITY, rollout text NOT NULL, from_version text,
  schema_version bigint NOT NULL, file text NOT NULL,
  kind text NOT NULL, relation text NOT NULL, columns text[], key_columns text[], whole boolean NOT NULL,
  overwrites boolean NOT NULL, rows bigint NOT NULL, checksum text NOT NULL, kept_at timestamptz NOT NULL DEFAULT now(),
  state text NOT NULL DEFAULT 'kept', restored bigint, gone bigint, written_since bigint, note text,
  restored_by text, restored_at timestamptz)"""
AFTER, CHANGED = "rollback kept after", "rollback kept changed"  # a kept table's own columns (overwritten values)
# The key a table's rows are restored by: its primary key, else a unique index on NOT NULL columns only.
KEY = """SELECT array_agg(a.attname::text ORDER BY k.n) FROM pg_index i
  CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
 WHERE i.indrelid = %s::regclass AND (i.indisprimary OR i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL)
 GROUP BY i.indexrelid, i.indisprimary HAVING bool_and(a.attnotnull)
 ORDER BY i.indisprimary DESC, count(*) LIMIT 1"""
# A relation's stored columns: name, type, built-in type (kept in its own type), generated.
COLUMNS = """SELECT attname::text, format_type(atttypid, atttypmod), atttypid < 16384, attgenerated <> ''
  FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum"""
FIELDS = ("id", "rollout", "from_version", "schema_version", "file", "kind", "relation", "columns", "key_columns",
          "whole", "overwrites", "rows", "checksum", "state", "restored", "gone", "written_since", "note")


@dataclass(frozen=True)
class Tags:
    """What a kept set is tagged with: the rollout that kept it and the version it came from."""

    rollout: str
    from_version: str | None


@dataclass
class Kept:
    """A set kept in this transaction; `overwrites` sets still need their after-image once the file has run."""

    id: str
    relation: str
    columns: list[str]
    key: list[str] | None
    overwrites: bool


def _ident(quoted: str) -> str:
    """A column name as quote_ident wrote it, unquoted."""
    return quoted[1:-1].replace('""', '"') if quoted.startswith('"') else quoted


def _names(names: list[str], prefix: str = "") -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(prefix) + sql.Identifier(n) if prefix else sql.Identifier(n) for n in names)


def _object(ref: str, names: list[str]) -> sql.Composable:
    """jsonb_build_object('a', ref.a, …)."""
    parts = [sql.SQL("{}, {}.{}").format(sql.Literal(n), sql.SQL(ref), sql.Identifier(n)) for n in names]
    return sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(parts))


def _table(set_id: str) -> sql.Identifier:
    return sql.Identifier("rollback_control", f"kept_{set_id}")


def _exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone() == (True,)


def _checksum(names: list[str]) -> sql.Composable:
    """A checksum of a kept table's data columns (not its after-image): the sum of each row's 64-bit text hash."""
    return sql.SQL("coalesce(sum(hashtextextended(ROW({})::text, 0)::numeric), 0)::text").format(
        _names(names, "k."))


def ensure(conn: psycopg.Connection) -> None:
    """The kept sets' table (in the caller's transaction)."""
    conn.execute(DDL)


def _grouped(found: list[tuple[data_loss.Loss, data_loss.Keep]]) -> list[tuple[data_loss.Loss, data_loss.Keep]]:
    """Column drops of one relation read the same rows: one set with all their columns (one copy, one restore)."""
    out: list[tuple[data_loss.Loss, data_loss.Keep]] = []
    at: dict[tuple[str, str], int] = {}
    for loss, k in found:
        spot = (k.relation, k.select)
        if k.columns is not None and not k.overwrites and spot in at:
            first_loss, first = out[at[spot]]
            out[at[spot]] = (first_loss, data_loss.Keep(first.relation, (*(first.columns or ()), *k.columns),
                                                         first.select, first.ref))
            continue
        if k.columns is not None and not k.overwrites:
            at[spot] = len(out)
        out.append((loss, k))
    return out


def keep(conn: psycopg.Connection, file: str, text: str, schema_version: int, tags: Tags) -> list[Kept]:
    """Copy aside what `text` (a down file or a part of one) destroys, in the caller's transaction, before it runs.
    Nothing is written (not even rollback_control's tables) when nothing is there to lose."""
    found = [(loss, k) for loss, k in data_loss.keepable(conn, file, text) if k is not None]
    out: list[Kept] = []
    for loss, k in _grouped(found):
        key = conn.execute(KEY, (k.relation,)).fetchone()
        key_cols: list[str] | None = list(key[0]) if key and key[0] else None
        live = {str(r[0]): (bool(r[2]), bool(r[3])) for r in conn.execute(COLUMNS, (k.relation,)).fetchall()}
        columns = list(dict.fromkeys(_ident(c) for c in k.columns)) if k.columns is not None else None
        whole = columns is None or key_cols is None  # a keyless table is kept whole
        lost = columns  # the values that go (None: the rows)
        if whole or columns is None:
            columns = [c for c, (_, generated) in live.items() if not generated]
        else:
            columns = [c for c in columns if c not in (key_cols or [])] or columns
        names = list(dict.fromkeys([*(key_cols or []), *columns]))
        picked = sql.SQL(", ").join(
            sql.SQL("{}.{}").format(sql.SQL(k.ref), sql.Identifier(n)) if live.get(n, (True, False))[0] else
            sql.SQL("{}.{}::text AS {}").format(sql.SQL(k.ref), sql.Identifier(n), sql.Identifier(n)) for n in names)
        head, tail = k.select.split(data_loss.KEPT_ROW, 1)

        def select(what: sql.Composable, head: str = head, tail: str = tail) -> sql.Composed:
            return sql.Composed([sql.SQL(head), what, sql.SQL(tail)])  # the statement's own relation and WHERE

        if not _something(conn, select(picked), lost):
            continue  # nothing there to lose (no row, or no value): no set
        ensure(conn)
        set_id = uuid.uuid4().hex[:16]
        conn.execute(sql.SQL("CREATE TABLE {} AS {}").format(_table(set_id), select(sql.SQL(
            "{}, NULL::jsonb AS {}, NULL::boolean AS {}").format(picked, sql.Identifier(AFTER),
                                                               sql.Identifier(CHANGED)))))
        conn.execute(sql.SQL(
            "INSERT INTO rollback_control.kept_sets (id, rollout, from_version, schema_version, file, kind, relation, "
            "columns, key_columns, whole, overwrites, rows, checksum) SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, count(*), {} FROM {} AS k").format(_checksum(names), _table(set_id)),
            (set_id, tags.rollout, tags.from_version, schema_version, file, loss.kind, k.relation, columns,
             key_cols, whole, k.overwrites))
        out.append(Kept(set_id, k.relation, columns, key_cols, k.overwrites))
    return out


def _something(conn: psycopg.Connection, rows: sql.Composed, lost: list[str] | None) -> bool:
    """Whether the rows a loss reads hold anything to lose: a row (lost None), or a value of the lost columns (a
    column NULL in every row loses nothing; the data-loss check does not count it either)."""
    test = sql.SQL("true") if lost is None else sql.SQL(" OR ").join(
        sql.SQL("s.{} IS NOT NULL").format(sql.Identifier(c)) for c in lost)
    got = conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM ({}) s WHERE {})").format(rows, test)).fetchone()
    return bool(got and got[0])


def _casts(conn: psycopg.Connection, table: sql.Identifier, set_id: str, relation: str) -> dict[str, sql.Composable]:
    """Each kept column as the live column's type: as kept when the types agree, else through its text."""
    rows = conn.execute(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), "
        "(a.atttypid, a.atttypmod) = (b.atttypid, b.atttypmod) FROM pg_attribute a JOIN pg_attribute b "
        "ON b.attrelid = %s::regclass AND b.attname = a.attname AND b.attnum > 0 AND NOT b.attisdropped "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        (f'rollback_control."kept_{set_id}"', relation)).fetchall()
    return {str(n): sql.SQL("k.{}").format(sql.Identifier(n)) if same else
            sql.SQL("k.{}::text::{}").format(sql.Identifier(n), sql.SQL(t)) for n, t, same in rows}


def _key_match(key: list[str], casts: dict[str, sql.Composable]) -> sql.Composable:
    return sql.SQL(" AND ").join(sql.SQL("t.{} = {}").format(sql.Identifier(c), casts[c]) for c in key)


def after(conn: psycopg.Connection, kept: list[Kept]) -> None:
    """For sets whose values stay but change (UPDATE, a type change): what they became, by key, once the file ran; a
    restore puts a value back only where the row still holds that (rows written since keep theirs)."""
    for k in kept:
        if not (k.overwrites and k.key):
            continue
        table = _table(k.id)
        casts = _casts(conn, table, k.id, k.relation)
        _quietly(conn, sql.SQL("UPDATE {} AS k SET {} = {} FROM {} AS t WHERE {}").format(
            table, sql.Identifier(AFTER), _object("t", k.columns), sql.SQL(k.relation), _key_match(k.key, casts)))


def _quietly(conn: psycopg.Connection, query: sql.Composed) -> None:
    """Run a bookkeeping statement of overwritten values in a savepoint: if it fails (a key that no longer casts),
    the values it would mark stay unmarked, which a restore reads as "changed since" (left as they are); its error,
    which could quote a value, is not raised."""
    try:
        with conn.transaction():
            conn.execute(query)
    except (psycopg.errors.QueryCanceled, psycopg.OperationalError):
        raise  # the lock budget, a lost connection: the caller's to handle
    except psycopg.Error:
        pass


def changed_since(conn: psycopg.Connection, sets: list[dict[str, Any]]) -> None:
    """Before an up re-applies their version: which overwritten values changed since the down (written since), compared
    while the column still has the down's type; a restore leaves those rows as they are."""
    for s in sets:
        if not (s["overwrites"] and s["key_columns"]) or not _exists(conn, s["relation"]):
            continue
        table = _table(s["id"])
        casts = _casts(conn, table, s["id"], s["relation"])
        if any(c not in casts for c in s["key_columns"]):
            continue
        _quietly(conn, sql.SQL("UPDATE {} AS k SET {} = k.{} IS DISTINCT FROM {} FROM {} AS t WHERE {}").format(
            table, sql.Identifier(CHANGED), sql.Identifier(AFTER), _object("t", list(s["columns"])),
            sql.SQL(s["relation"]), _key_match(list(s["key_columns"]), casts)))


def pending(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Kept sets not restored yet, oldest first ([] before anything was kept)."""
    if not _exists(conn, "rollback_control.kept_sets"):
        return []
    rows = conn.execute(f"SELECT {', '.join(FIELDS)} FROM rollback_control.kept_sets WHERE state = 'kept' "
                        "ORDER BY n").fetchall()
    return [dict(zip(FIELDS, r, strict=True)) for r in rows]


def due(sets: list[dict[str, Any]], version: int) -> list[dict[str, Any]]:
    """The sets an up step to `version` re-applies: kept when the down of that version ran."""
    return [s for s in sets if int(s["schema_version"]) == version]


def summary(s: dict[str, Any]) -> dict[str, Any]:
    """A set as plans, outputs and reports show it: names and counts, never a value."""
    cols = s.get("columns")
    return {k: v for k, v in {"id": s["id"], "file": s["file"], "kind": s["kind"], "relation": s["relation"],
                              "columns": None if s.get("whole") else list(cols or []) or None,
                              "rows": int(s["rows"]), "from_version": s.get("from_version"),
                              "schema_version": int(s["schema_version"]), "keyless": not s.get("key_columns"),
                              "state": s.get("state"), "restored": s.get("restored"), "gone": s.get("gone"),
                              "written_since": s.get("written_since"), "note": s.get("note")}.items()
            if v is not None}


def restore_all(conn: psycopg.Connection, sets: list[dict[str, Any]], rollout: str) -> list[dict[str, Any]]:
    """Put sets back in the order they were kept; a set whose rows reference rows of a set not back yet (a foreign
    key) is tried again after the others, as long as that puts more back."""
    done: dict[str, dict[str, Any]] = {}
    waiting = list(sets)
    while waiting:
        later = []
        for s in waiting:
            got = _attempt(conn, s)
            if got.get("sqlstate") == "23503":
                later.append(s)
            done[s["id"]] = got
        if len(later) == len(waiting):
            break
        waiting = later
    return [restore(conn, s, rollout, done[s["id"]]) for s in sets]


def _attempt(conn: psycopg.Connection, s: dict[str, Any]) -> dict[str, Any]:
    """One try at putting a set back, in a savepoint: what it did, or why not (with the SQLSTATE)."""
    try:
        with conn.transaction():
            return _restore(conn, s, _table(s["id"]), sql.SQL(s["relation"]))
    except (psycopg.errors.QueryCanceled, psycopg.OperationalError):
        raise  # the lock budget, a lost connection: the caller's to handle
    except psycopg.Error as err:
        return {"note": f"not restored: the database refused it (SQLSTATE {err.sqlstate})", "sqlstate": err.sqlstate}


def restore(conn: psycopg.Connection, s: dict[str, Any], rollout: str,
            done: dict[str, Any] | None = None) -> dict[str, Any]:
    """Put one set back by key in the caller's transaction (a savepoint of its own: a set that cannot go back is
    reported, the step goes on), or record the outcome `done` of an earlier try; returns its summary with restored,
    gone and written_since, or a note why not."""
    done = _attempt(conn, s) if done is None else done
    state = "restored" if "restored" in done else "not restored"
    conn.execute("UPDATE rollback_control.kept_sets SET state = %s, restored = %s, gone = %s, written_since = %s, "
                 "note = %s, restored_by = %s, restored_at = now() WHERE id = %s",
                 (state, done.get("restored"), done.get("gone"), done.get("written_since"), done.get("note"),
                  rollout, s["id"]))
    return summary({**s, **done, "state": state})


def _count(conn: psycopg.Connection, query: sql.Composed) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def _restore(conn: psycopg.Connection, s: dict[str, Any], table: sql.Identifier, rel: sql.Composable) -> dict[str, Any]:
    if not _exists(conn, s["relation"]):
        return {"note": f"not restored: table {s['relation']} is not there after the up"}
    cols, key = list(s["columns"] or []), list(s["key_columns"] or [])
    got = conn.execute(sql.SQL("SELECT count(*), {} FROM {} AS k").format(
        _checksum(list(dict.fromkeys([*key, *cols]))), table)).fetchone()
    if got is None or (int(got[0]), str(got[1])) != (int(s["rows"]), s["checksum"]):
        return {"note": "not restored: the kept copy changed since it was kept (its checksum differs)"}
    casts = _casts(conn, table, s["id"], s["relation"])
    generated = {str(r[0]) for r in conn.execute(COLUMNS, (s["relation"],)).fetchall() if r[3]}
    missing = [c for c in dict.fromkeys(key + ([] if s["whole"] else cols)) if c not in casts]
    if missing:
        return {"note": f"not restored: column(s) {', '.join(missing)} not there after the up"}
    rows = int(s["rows"])
    if not rows:
        return {"restored": 0, "gone": 0, "written_since": 0}
    before = _count(conn, sql.SQL("SELECT count(*) FROM ONLY {}").format(rel))
    if s["whole"]:
        if not key and before:
            return {"note": "not restored: no primary or unique not-null key, and the table has rows now"}
        names = [c for c in cols if c in casts and c not in generated]
        # into an empty table no kept key can be taken: a plain INSERT (ON CONFLICT costs a speculative insertion a row)
        conflict = sql.SQL(" ON CONFLICT DO NOTHING" if before else "")
        cur = conn.execute(sql.SQL(
            "INSERT INTO {rel} ({cols}) OVERRIDING SYSTEM VALUE SELECT {vals} FROM {t} AS k{conflict}")
            .format(rel=rel, cols=_names(names), vals=sql.SQL(", ").join(casts[n] for n in names), t=table,
                    conflict=conflict))
        _advance_sequences(conn, s["relation"], names)
        return {"restored": cur.rowcount, "gone": 0, "written_since": before,
                **({"note": f"{rows - cur.rowcount} kept row(s) not put back: their key is taken by a row "
                            "written since"} if cur.rowcount < rows else {})}
    sets = sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(c), casts[c]) for c in cols)
    # overwritten values: only where the row still held what the down made of it (changed_since)
    unchanged = sql.SQL(" AND k.{} IS FALSE").format(sql.Identifier(CHANGED)) if s["overwrites"] else sql.SQL("")
    cur = conn.execute(sql.SQL("UPDATE {rel} AS t SET {sets} FROM {t} AS k WHERE {match}{unchanged}").format(
        rel=rel, sets=sets, t=table, match=_key_match(key, casts), unchanged=unchanged))
    found = cur.rowcount
    if s["overwrites"]:
        found = _count(conn, sql.SQL("SELECT count(*) FROM {t} AS k WHERE EXISTS (SELECT FROM ONLY {rel} AS t "
                                     "WHERE {match})").format(t=table, rel=rel, match=_key_match(key, casts)))
    changed = found - cur.rowcount
    return {"restored": cur.rowcount, "gone": rows - found,
            "written_since": changed if s["overwrites"] else before - found,
            **({"note": f"{changed} row(s) changed since keep theirs"} if changed else {})}


def _advance_sequences(conn: psycopg.Connection, relation: str, names: list[str]) -> None:
    """Serial and identity sequences past the largest value put back, so that new rows do not collide with them."""
    for name in names:
        seq = conn.execute("SELECT pg_get_serial_sequence(%s, %s)", (relation, name)).fetchone()
        if seq and seq[0]:
            conn.execute(sql.SQL("SELECT setval(%s, greatest(max({c}), (SELECT last_value FROM {s}))) FROM {rel} "
                                 "HAVING max({c}) IS NOT NULL").format(
                c=sql.Identifier(name), s=sql.SQL(seq[0]), rel=sql.SQL(relation)), (seq[0],))


def drop(conn: psycopg.Connection, set_ids: list[str]) -> int:
    """Drop kept sets (pruned with their version); returns how many went."""
    for set_id in set_ids:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_table(set_id)))
    if set_ids:
        conn.execute("DELETE FROM rollback_control.kept_sets WHERE id = ANY(%s)", (set_ids,))
    return len(set_ids)


def listed(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every kept set, oldest first, as summaries ([] before anything was kept)."""
    if not _exists(conn, "rollback_control.kept_sets"):
        return []
    rows = conn.execute(f"SELECT {', '.join(FIELDS)} FROM rollback_control.kept_sets ORDER BY n").fetchall()
    return [summary(dict(zip(FIELDS, r, strict=True))) for r in rows]
