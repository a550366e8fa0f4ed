"""Kept values (components/providers/keep.py): keeping 1 M values that a down file's DROP COLUMNs destroy and putting
them back by key once the up re-created the columns, vs doing the same by hand with COPY: `COPY (SELECT id, a, b)
TO STDOUT` into a file before the drop, and `COPY … FROM STDIN` into a staging table plus `UPDATE … FROM` by key after
the up. The same for a DROP TABLE of 1 M values: kept whole and inserted back into the re-created table, vs `COPY t TO`
a file and `COPY t FROM` it. The DROP and ADD/CREATE statements themselves are not timed (both ways run them)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.common import Row, median, parser, private_sandbox, report, runs_of

GOAL = 1.5
DOWN = "ALTER TABLE public.bench_keep DROP COLUMN a;\nALTER TABLE public.bench_keep DROP COLUMN b;"
UP = "ALTER TABLE public.bench_keep ADD COLUMN a text, ADD COLUMN b integer"
DROP_TABLE = "DROP TABLE public.bench_keep_t;"
CREATE_TABLE = "CREATE TABLE public.bench_keep_t (id bigint PRIMARY KEY, a text, b integer)"


def fill(dsn: str, rows: int) -> None:
    """bench_keep(id PK, a text, b integer, c text): rows rows; a and b hold the values the down drops."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS public.bench_keep")
        conn.execute("CREATE TABLE public.bench_keep (id bigint PRIMARY KEY, c text NOT NULL)")
        conn.execute(f"INSERT INTO public.bench_keep SELECT g, md5(g::text) FROM generate_series(1, {rows}) g")
        conn.execute(UP)
        conn.execute("UPDATE public.bench_keep SET a = md5((id * 7)::text) || repeat('x', (id % 20)::int), "
                     "b = (id * 7919 % 100000)::int")
        conn.execute("VACUUM (FULL, ANALYZE) public.bench_keep")
        conn.execute("DROP TABLE IF EXISTS public.bench_keep_t")
        conn.execute(CREATE_TABLE)
        conn.execute("INSERT INTO public.bench_keep_t SELECT id, a, b FROM public.bench_keep")
        conn.execute("VACUUM ANALYZE public.bench_keep_t")


def digest(conn: psycopg.Connection, table: str = "bench_keep") -> Any:
    row = conn.execute(f"SELECT count(a) + count(b), md5(string_agg(a || ':' || b, ',' ORDER BY id)) "
                       f"FROM public.{table}").fetchone()
    return tuple(row) if row else None


def ours(dsn: str, down: str = DOWN, up: str = UP) -> tuple[float, float]:
    """(seconds to keep, seconds to restore) through components.providers.keep, as the schema step runs them."""
    from components.providers import keep

    tags = keep.Tags("bench", "v2")
    with psycopg.connect(dsn) as conn:
        kept: list[Any] = []
        t0 = time.perf_counter()
        with conn.transaction():
            kept = keep.keep(conn, "0002_ab.down.sql", down, 2, tags)
        took_keep = time.perf_counter() - t0
        conn.execute(down)
        conn.execute(up)
        conn.commit()
        sets = keep.due(keep.pending(conn), 2)
        assert len(sets) == len(kept) == 1  # both columns of the table in one set
        t0 = time.perf_counter()
        with conn.transaction():
            keep.changed_since(conn, sets)
            back = keep.restore_all(conn, sets, "bench")
        took_restore = time.perf_counter() - t0
        assert all(b["state"] == "restored" for b in back), back
        keep.drop(conn, [s["id"] for s in sets])
        conn.commit()
    return took_keep, took_restore


def by_hand(dsn: str, tmp: Path) -> tuple[float, float]:
    """(seconds to COPY out, seconds to COPY in + UPDATE by key): the manual way of the same."""
    out = tmp / "ab.copy"
    with psycopg.connect(dsn) as conn:
        t0 = time.perf_counter()
        with conn.cursor().copy("COPY (SELECT id, a, b FROM public.bench_keep) TO STDOUT") as copy, \
                out.open("wb") as f:
            for block in copy:
                f.write(block)
        took_out = time.perf_counter() - t0
        conn.execute(DOWN)
        conn.execute(UP)
        conn.commit()
        t0 = time.perf_counter()
        with conn.transaction():
            conn.execute("CREATE TEMP TABLE kept_ab (id bigint, a text, b integer) ON COMMIT DROP")
            with conn.cursor().copy("COPY kept_ab FROM STDIN") as copy, out.open("rb") as f:
                while block := f.read(1 << 20):
                    copy.write(block)
            conn.execute("UPDATE public.bench_keep t SET a = k.a, b = k.b FROM kept_ab k WHERE t.id = k.id")
        took_in = time.perf_counter() - t0
    out.unlink()
    return took_out, took_in


def table_by_hand(dsn: str, tmp: Path) -> tuple[float, float]:
    """(seconds to COPY the table out, seconds to COPY it into the re-created table)."""
    out = tmp / "t.copy"
    with psycopg.connect(dsn) as conn:
        t0 = time.perf_counter()
        with conn.cursor().copy("COPY public.bench_keep_t TO STDOUT") as copy, out.open("wb") as f:
            for block in copy:
                f.write(block)
        took_out = time.perf_counter() - t0
        conn.execute(DROP_TABLE)
        conn.execute(CREATE_TABLE)
        conn.commit()
        t0 = time.perf_counter()
        with conn.transaction(), conn.cursor().copy("COPY public.bench_keep_t FROM STDIN") as copy, \
                out.open("rb") as f:
            while block := f.read(1 << 20):
                copy.write(block)
        took_in = time.perf_counter() - t0
    out.unlink()
    return took_out, took_in


def main(argv: list[str] | None = None) -> int:
    """Measure and report."""
    p = parser(__doc__ or "")
    p.add_argument("--values", type=int, default=1_000_000, help="values dropped (two columns: half as many rows)")
    args = p.parse_args(argv)
    started, runs = time.perf_counter(), runs_of(args)
    values = 2000 if args.smoke else args.values
    rows = values // 2
    s: dict[str, list[float]] = {k: [] for k in ("ours_keep", "ours_restore", "copy_out", "copy_in", "ours",
                                                  "hand", "t_ours", "t_hand")}
    with private_sandbox("keep") as sb, tempfile.TemporaryDirectory(prefix="rollback-bench-keep-") as t:
        dsn = sb.database_url
        fill(dsn, rows)
        with psycopg.connect(dsn) as conn:
            expected = digest(conn)
        for i in range(runs):
            for way in (("ours", "hand") if i % 2 == 0 else ("hand", "ours")):
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute("VACUUM public.bench_keep")
                if way == "ours":
                    k, r = ours(dsn)
                    s["ours_keep"].append(k)
                    s["ours_restore"].append(r)
                    s["ours"].append(k + r)
                else:
                    o, n = by_hand(dsn, Path(t))
                    s["copy_out"].append(o)
                    s["copy_in"].append(n)
                    s["hand"].append(o + n)
                with psycopg.connect(dsn) as conn:
                    assert digest(conn) == expected, f"{way}: the values did not come back"
            for way in (("ours", "hand") if i % 2 == 0 else ("hand", "ours")):
                if way == "ours":
                    k, r = ours(dsn, DROP_TABLE, CREATE_TABLE)
                    s["t_ours"].append(k + r)
                else:
                    o, n = table_by_hand(dsn, Path(t))
                    s["t_hand"].append(o + n)
                with psycopg.connect(dsn) as conn:
                    assert digest(conn, "bench_keep_t") == expected, f"{way}: the table did not come back"
    rows_out = []
    for case, o_key, b_key, baseline in (
            ("keep + restore (total)", "ours", "hand", "COPY out to a file + COPY in to a staging table + UPDATE"),
            ("keep (before the drop)", "ours_keep", "copy_out", "COPY (SELECT id, a, b) TO STDOUT into a file"),
            ("restore (after the up)", "ours_restore", "copy_in", "COPY FROM STDIN to a staging table + UPDATE by "
                                                                  "key"),
            ("a dropped table, kept + restored (total)", "t_ours", "t_hand", "COPY t TO a file + COPY t FROM it")):
        o, b = median(s[o_key]), median(s[b_key])
        rows_out.append(Row("kept values", f"{values:,} values: {case}", o, b, runs, f"≤ {GOAL}×",
                            o / b <= GOAL if "(total)" in case else None, baseline=baseline,
                            samples={"ours": s[o_key], "baseline": s[b_key]}))
    notes = [f"{rows:,} rows of bench_keep(id bigint PK, c text, a text (32–51 chars), b integer): the down drops a "
             "and b, the up adds them back; ours = keep() in the down's transaction (copy + checksum), then "
             "changed_since + restore_all (checksum check, UPDATE by key, counts) in the up's",
             "the goal applies to the total; the two halves are shown for where the time goes"]
    report("keep", rows_out, args.out, smoke=args.smoke, params={"runs": runs, "values": values, "rows": rows},
           started=started, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
