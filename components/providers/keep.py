"""Kept values: what a down step destroys, copied aside in the transaction that destroys it, and put back by key when a
later rollout re-applies the version whose down dropped them.

Each kept set is one table `rollback_control.kept_<id>` (key jsonb, vals jsonb, after jsonb) and one row of
`rollback_control.kept_sets` tagged with the rollout, the version it came from, the schema version whose down ran and a
checksum of its rows. Values are stored as JSON and read back through the live table's row type
(jsonb_populate_record), so a column whose type the down dropped and the up re-created comes back in that type.
Nothing here returns a value: only names and counts.
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
SUM = "coalesce(sum(hashtextextended(coalesce(key::text, '') || vals::text, 0)::numeric), 0)::text"
# The key a table's rows are restored by: its primary key, else a unique index on NOT NULL columns only.
KEY = """SELECT array_agg(a.attname::text ORDER BY k.n) FROM pg_index i
  CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
 WHERE i.indrelid = %s::regclass AND (i.indisprimary OR i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL)
 GROUP BY i.indexrelid, i.indisprimary HAVING bool_and(a.attnotnull)
 ORDER BY i.indisprimary DESC, count(*) LIMIT 1"""
FIELDS = ("id", "rollout", "from_version", "schema_version", "file", "kind", "relation", "columns", "key_columns",
          "whole", "overwrites", "rows", "checksum", "state", "restored", "gone", "written_since", "note")


@dataclass(frozen=True)
class Tags:
    """What a kept set is tagged with: the rollout that kept it and the version it came from."""

    rollout: str
    from_version: str | None


def _ident(quoted: str) -> str:
    """A column name as quote_ident wrote it, unquoted."""
    return quoted[1:-1].replace('""', '"') if quoted.startswith('"') else quoted


def _object(ref: str, names: list[str]) -> sql.Composable:
    """jsonb_build_object('a', ref.a, …)."""
    parts = [sql.SQL("{}, {}.{}").format(sql.Literal(n), sql.SQL(ref), sql.Identifier(n)) for n in names]
    return sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(parts))


def _table(set_id: str) -> sql.Identifier:
    return sql.Identifier("rollback_control", f"kept_{set_id}")


def ensure(conn: psycopg.Connection) -> None:
    """The kept sets' table (in the caller's transaction)."""
    conn.execute(DDL)


@dataclass
class Kept:
    """A set kept in this transaction; `overwrites` sets still need their after-image once the file has run."""

    id: str
    keep: data_loss.Keep
    key: list[str] | None


def keep(conn: psycopg.Connection, file: str, text: str, schema_version: int, tags: Tags) -> list[Kept]:
    """Copy aside what `text` (a down file or a part of one) destroys, in the caller's transaction, before it runs."""
    found = [(loss, k) for loss, k in data_loss.keepable(conn, file, text) if k is not None]
    if not found:
        return []
    ensure(conn)
    out: list[Kept] = []
    for loss, k in found:
        key = conn.execute(KEY, (k.relation,)).fetchone()
        key_cols: list[str] | None = list(key[0]) if key and key[0] else None
        columns = None if k.columns is None else [_ident(c) for c in k.columns]
        whole = columns is None or key_cols is None  # a keyless table is kept whole
        vals = sql.SQL("to_jsonb({})").format(sql.SQL(k.ref)) if whole else _object(k.ref, columns or [])
        keys = _object(k.ref, key_cols) if key_cols else sql.SQL("NULL::jsonb")
        what = sql.SQL("{} AS key, {} AS vals, NULL::jsonb AS after, NULL::boolean AS changed").format(keys, vals)
        head, tail = k.select.split(data_loss.KEPT_ROW, 1)
        select = sql.Composed([sql.SQL(head), what, sql.SQL(tail)])  # the statement's own relation and WHERE
        set_id = uuid.uuid4().hex[:16]
        conn.execute(sql.SQL("CREATE TABLE {} AS {}").format(_table(set_id), select))
        conn.execute(sql.SQL(
            "INSERT INTO rollback_control.kept_sets (id, rollout, from_version, schema_version, file, kind, relation, "
            "columns, key_columns, whole, overwrites, rows, checksum) SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, count(*), {} FROM {}").format(sql.SQL(SUM), _table(set_id)),
            (set_id, tags.rollout, tags.from_version, schema_version, file, loss.kind, k.relation, columns,
             key_cols, whole, k.overwrites))
        out.append(Kept(set_id, k, key_cols))
    return out


def after(conn: psycopg.Connection, kept: list[Kept]) -> None:
    """For sets whose values stay but change (UPDATE, a type change): what they became, by key, once the file ran; a
    restore puts a value back only where the row still holds that (rows written since keep theirs)."""
    for k in kept:
        if not (k.keep.overwrites and k.key and k.keep.columns):
            continue
        cols = [_ident(c) for c in k.keep.columns]
        conn.execute(sql.SQL("UPDATE {} AS k SET after = {} FROM {} AS t WHERE k.key = {}").format(
            _table(k.id), _object("t", cols), sql.SQL(k.keep.relation), _object("t", k.key)))


def changed_since(conn: psycopg.Connection, sets: list[dict[str, Any]]) -> None:
    """Before an up re-applies their version: which overwritten values changed since the down (written since), compared
    while the column still has the down's type; a restore leaves those rows as they are."""
    for s in sets:
        if not (s["overwrites"] and s["key_columns"] and s["columns"]) or \
                conn.execute("SELECT to_regclass(%s)", (s["relation"],)).fetchone() in (None, (None,)):
            continue
        conn.execute(sql.SQL("UPDATE {} AS k SET changed = k.after IS DISTINCT FROM {} FROM {} AS t WHERE k.key = {}")
                     .format(_table(s["id"]), _object("t", list(s["columns"])), sql.SQL(s["relation"]),
                             _object("t", list(s["key_columns"]))))


def pending(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Kept sets not restored yet, oldest first ([] before anything was kept)."""
    if conn.execute("SELECT to_regclass('rollback_control.kept_sets')").fetchone() in (None, (None,)):
        return []
    rows = conn.execute(f"SELECT {', '.join(FIELDS)} FROM rollback_control.kept_sets WHERE state = 'kept' "
                        "ORDER BY kept_at, id").fetchall()
    return [dict(zip(FIELDS, r, strict=True)) for r in rows]


def due(sets: list[dict[str, Any]], version: int) -> list[dict[str, Any]]:
    """The sets an up step to `version` re-applies: kept when the down of that version ran."""
    return [s for s in sets if int(s["schema_version"]) == version]


def summary(s: dict[str, Any]) -> dict[str, Any]:
    """A set as plans, outputs and reports show it: names and counts, never a value."""
    cols = s.get("columns")
    return {k: v for k, v in {"id": s["id"], "file": s["file"], "kind": s["kind"], "relation": s["relation"],
                              "columns": list(cols) if cols else None, "rows": int(s["rows"]),
                              "from_version": s.get("from_version"), "schema_version": int(s["schema_version"]),
                              "keyless": not s.get("key_columns"), "state": s.get("state"),
                              "restored": s.get("restored"), "gone": s.get("gone"),
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
    except psycopg.errors.QueryCanceled:
        raise  # the lock budget: the caller's to handle
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


def _restore(conn: psycopg.Connection, s: dict[str, Any], table: sql.Identifier, rel: sql.Composable) -> dict[str, Any]:
    if conn.execute("SELECT to_regclass(%s)", (s["relation"],)).fetchone() in (None, (None,)):
        return {"note": f"not restored: table {s['relation']} is not there after the up"}
    got = conn.execute(sql.SQL("SELECT count(*), {} FROM {}").format(sql.SQL(SUM), table)).fetchone()
    if got is None or (int(got[0]), str(got[1])) != (int(s["rows"]), s["checksum"]):
        return {"note": "not restored: the kept copy changed since it was kept (its checksum differs)"}
    live = {str(r[0]): bool(r[1]) for r in conn.execute(
        "SELECT attname, attgenerated <> '' FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped", (s["relation"],)).fetchall()}
    cols = list(s["columns"] or [])
    missing = [c for c in cols + list(s["key_columns"] or []) if c not in live]
    if missing:
        return {"note": f"not restored: column(s) {', '.join(missing)} not there after the up"}
    rows = int(s["rows"])
    if not rows:
        return {"restored": 0, "gone": 0, "written_since": 0}
    before = int(conn.execute(sql.SQL("SELECT count(*) FROM ONLY {}").format(rel)).fetchone()[0])  # type: ignore[index]
    record = sql.SQL("jsonb_populate_record(NULL::{}, {})")
    if s["whole"]:
        if not s["key_columns"] and before:
            return {"note": "not restored: no primary or unique not-null key, and the table has rows now"}
        names = [str(r[0]) for r in conn.execute(sql.SQL(
            "SELECT jsonb_object_keys(vals) FROM (SELECT vals FROM {} LIMIT 1) one").format(table)).fetchall()
            if live.get(str(r[0])) is False]
        cur = conn.execute(sql.SQL(
            "INSERT INTO {rel} ({cols}) OVERRIDING SYSTEM VALUE SELECT {vals} FROM (SELECT {rec} AS r FROM {t}) k "
            "ON CONFLICT DO NOTHING").format(
                rel=rel, cols=sql.SQL(", ").join(map(sql.Identifier, names)),
                vals=sql.SQL(", ").join(sql.SQL("(k.r).{}").format(sql.Identifier(n)) for n in names),
                rec=record.format(rel, sql.SQL("vals")), t=table))
        _advance_sequences(conn, s["relation"], names)
        return {"restored": cur.rowcount, "gone": 0, "written_since": before,
                **({"note": f"{rows - cur.rowcount} kept row(s) not put back: their key is taken by a row "
                            "written since"} if cur.rowcount < rows else {})}
    sets = sql.SQL(", ").join(sql.SQL("{c} = (k.r).{c}").format(c=sql.Identifier(c)) for c in cols)
    match = sql.SQL(" AND ").join(sql.SQL("t.{c} = (k.r).{c}").format(c=sql.Identifier(c)) for c in s["key_columns"])
    # overwritten values: only where the row still held what the down made of it (changed_since)
    unchanged = sql.SQL(" AND k.changed IS FALSE" if s["overwrites"] else "")
    cur = conn.execute(sql.SQL(
        "UPDATE {rel} AS t SET {sets} FROM (SELECT {rec} AS r, changed FROM {t}) k WHERE {match}{unchanged}")
        .format(rel=rel, sets=sets, rec=record.format(rel, sql.SQL("key || vals")), t=table, match=match,
                unchanged=unchanged))
    found = int(conn.execute(sql.SQL(
        "SELECT count(*) FROM {t} k WHERE EXISTS (SELECT FROM ONLY {rel} AS t, {rec} AS r WHERE {match})").format(
            t=table, rel=rel, rec=sql.SQL("jsonb_populate_record(NULL::{}, k.key)").format(rel),
            match=sql.SQL(" AND ").join(sql.SQL("t.{c} = r.{c}").format(c=sql.Identifier(c))
                                        for c in s["key_columns"]))).fetchone()[0])  # type: ignore[index]
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
    if conn.execute("SELECT to_regclass('rollback_control.kept_sets')").fetchone() in (None, (None,)):
        return []
    rows = conn.execute(f"SELECT {', '.join(FIELDS)} FROM rollback_control.kept_sets ORDER BY n").fetchall()
    return [summary(dict(zip(FIELDS, r, strict=True))) for r in rows]
