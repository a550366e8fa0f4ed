"""Schema migration step: moves the schema up or down, keeping the migration tool's own bookkeeping truthful.

golang-migrate (schema_migrations(version, dirty)) is run file by file with its down files; an up-only history
(Drizzle, Prisma, Supabase) goes down by one generated step (components.providers.way_back).
"""

from __future__ import annotations

import time
import uuid
import zlib
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import psycopg
import psycopg.errors
import pulumi
from pulumi.dynamic import CheckResult, DiffResult, ReadResult, Resource

from components import runtime_env
from components.providers import data_loss, keep, locks, sql_units, way_back
from components.providers import migrations as mig
from components.providers.base import StepProvider, normalize, public, scalar
from components.rollout import sha256_text
from rollback_stacks import formats

TABLE_DDL = "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)"
LOCK_SALT = 1486364155  # golang-migrate's advisory-lock salt: our lock excludes a concurrent `migrate` run too
LOCK_WAIT_SECONDS = 60.0
CHECK_ID = "check_id"  # which check computed a plan; the update that ran it keeps it in its outputs
PROGRESS_DDL = ("CREATE SCHEMA IF NOT EXISTS rollback_control; CREATE TABLE IF NOT EXISTS "
                "rollback_control.migration_progress (file text PRIMARY KEY, sha256 text NOT NULL, "
                "from_version bigint NOT NULL, units_done int NOT NULL, at timestamptz NOT NULL DEFAULT now())")


class DirtyDatabase(Exception):
    """schema_migrations is marked dirty: a migration stopped midway."""


def lock_id(dbname: str) -> int:
    """The advisory lock id golang-migrate derives for public.schema_migrations of dbname."""
    key = "\x00".join(["public", "schema_migrations", dbname]).encode()
    return (zlib.crc32(key) * LOCK_SALT) & 0xFFFFFFFF


def read_version(conn: psycopg.Connection) -> tuple[int | None, bool]:
    """(version, dirty) from schema_migrations; (None, False) when the table or its row is missing."""
    if scalar(conn.execute("SELECT to_regclass('schema_migrations')")) is None:
        return None, False
    row = conn.execute("SELECT version, dirty FROM schema_migrations LIMIT 1").fetchone()
    if row is None:
        return None, False
    return (None if row[0] < 0 else int(row[0])), bool(row[1])


def set_version(conn: psycopg.Connection, version: int | None, dirty: bool) -> None:
    """golang-migrate's SetVersion: one row, or none for the nil version when clean."""
    conn.execute("DELETE FROM schema_migrations")  # one row: DELETE is far cheaper than TRUNCATE per step
    if version is not None or dirty:
        conn.execute("INSERT INTO schema_migrations (version, dirty) VALUES (%s, %s)",
                     (version if version is not None else -1, dirty))


def version_statements(version: int | None) -> str:
    """set_version(version, clean) as SQL text, sent in the same query as an atomic file (one round trip)."""
    if version is None:
        return "DELETE FROM schema_migrations"
    return f"DELETE FROM schema_migrations; INSERT INTO schema_migrations VALUES ({int(version)}, false)"


def format_of(news: dict[str, Any]) -> formats.Format:
    """The migration format the step's files are in (golang-migrate when unset)."""
    return formats.get(str(news.get("format") or formats.DEFAULT))


def read_live(conn: psycopg.Connection, fmt: formats.Format, listing: formats.Listing) -> tuple[int | None, str | None]:
    """(version, problem) as the tool's own table says; (None, None) before it exists."""
    if fmt.name == formats.DEFAULT:
        version, dirty = read_version(conn)
        return version, dirty_message(version) if dirty else None
    if scalar(conn.execute("SELECT to_regclass(%s)", (fmt.table,))) is None:
        return None, None
    return fmt.live_version(conn.execute(fmt.applied()).fetchall(), listing)


def bookkeeping(conn: psycopg.Connection, fmt: formats.Format, listing: formats.Listing, files: dict[str, str],
                before: int | None, to: int | None) -> str:
    """The tool's bookkeeping for a move from `before` to `to`, as literal SQL (sent with an atomic file)."""
    cur = psycopg.ClientCursor(conn)
    return ";\n".join(cur.mogrify(sql, params) for sql, params in fmt.moved(listing, files, before, to))


def dirty_message(version: int | None) -> str:
    """What happened and how to recover from a dirty schema_migrations."""
    return (f"schema_migrations is dirty at version {version}: a migration stopped midway and the schema may be "
            "half-applied. Inspect the database (or restore the safety snapshot), make it match a known version V, "
            "then mark it clean with `migrate force V` (UPDATE schema_migrations SET version = V, dirty = false) "
            "and run `up` again")


def verify_checksums(files: dict[str, str], checksums: dict[str, str], needed: list[str]) -> None:
    """Every needed file must be recorded, and no recorded file may differ from its recorded sha256."""
    for name, text in sorted(files.items()):
        recorded = checksums.get(name)
        if recorded is not None and sha256_text(text) != recorded:
            raise mig.MigrationError(f"migration {name} differs from its recorded sha256 {recorded[:12]}… "
                                     "(edited after it was recorded in rollback_stacks): refusing to run")
    unrecorded = [n for n in needed if n not in checksums]
    if unrecorded:
        raise mig.MigrationError(f"migration file(s) {', '.join(unrecorded)} have no recorded sha256 in "
                                 "rollback_stacks: refusing to run unrecorded SQL")


def destructive_now(conn: psycopg.Connection, files: dict[str, str], steps: list[mig.Step]) -> list[dict[str, Any]]:
    """What the steps' SQL destroys, in run order, each with its kind, object and the rows or values it affects now
    (rows None: not there now, or `unknown` says why it cannot be counted); see components.providers.data_loss.

    Two round trips whatever the number of steps: one resolves every name and dependency, one counts them all.
    """
    return [loss.as_dict() for loss in data_loss.measure(conn, [(s.file, files[s.file], s.direction == "down")
                                                                for s in steps])]


def lossy(drops: list[dict[str, Any]], *, allow_dynamic: bool = False) -> list[str]:
    """The losses that stop the step without allow_data_loss, in words with their counts (what the pre-check refuses):
    rows or values now, or what cannot be told (dynamic SQL only unless the stack allows it)."""
    return [data_loss.message(d) for d in drops if data_loss.at_risk(d, allow_dynamic=allow_dynamic)]


def data_at_risk(conn: psycopg.Connection, files: dict[str, str], steps: list[mig.Step], *,
                 allow_dynamic: bool = False) -> list[str]:
    """lossy() of the steps' losses now."""
    return lossy(destructive_now(conn, files, steps), allow_dynamic=allow_dynamic)


def keeps_of(drops: list[dict[str, Any]]) -> dict[str, Any]:
    """What the apply keeps aside of the losses counted now (`keeps`), and what it cannot (`not_kept`: dynamic SQL,
    a sequence's position, a generated way back), as (file, what goes, how many) for the plan."""
    out: dict[str, list[dict[str, Any]]] = {}
    for d in drops:
        if not d.get("rows") and not d.get("unknown"):
            continue
        kept = d.get("rows") and d.get("kind") != data_loss.CANNOT_TELL and d["file"] != mig.GENERATED and \
            not str(d.get("drops", "")).startswith("sequence ")
        out.setdefault("keeps" if kept else "not_kept", []).append(
            {"file": d["file"], "drops": d["drops"], "rows": d.get("rows"), "unit": d.get("unit", "rows")})
    return out


def dynamic_allowed(news: dict[str, Any]) -> bool:
    """Whether the stack's policy lets dynamic SQL run without allow_data_loss (rollback:dataLoss.dynamicSql)."""
    return news.get("dynamic_sql") == "allow"


def units(files: dict[str, str], step: mig.Step) -> list[sql_units.Unit]:
    """A step's file as execution units (see components.providers.sql_units)."""
    return sql_units.split(step.file, files[step.file])


def _acquire(conn: psycopg.Connection, key: int) -> None:
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while not scalar(conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))):
        if time.monotonic() > deadline:
            raise RuntimeError(f"another migration holds the schema advisory lock {key} "
                               f"(waited {LOCK_WAIT_SECONDS:.0f}s)")
        time.sleep(0.5)


def describe(news: dict[str, Any]) -> dict[str, Any]:
    """Preview of the migration against the live database: from, to, direction, files (or the generated way back
    with its statements and hazards), data at risk, and the sessions that would block its statements now."""
    files: dict[str, str] = news.get("sql") or {}
    target = int(news["target_version"])
    guard = locks.Guard(news.get("locks"), "plan")
    try:
        fmt = format_of(news)
        listing = fmt.listing(files)
        with psycopg.connect(guard.conninfo(), connect_timeout=5) as conn:
            current, problem = read_live(conn, fmt, listing)
            if problem:
                return {"from": current, "to": target, "refused": problem}
            p = mig.plan(listing.migrations, current, target, generate=not fmt.has_downs)
            out: dict[str, Any] = p.describe()
            if fmt.name != formats.DEFAULT:
                out.update(format=fmt.name, names={"from": listing.label(current), "to": listing.label(target)})
            texts = dict(files)
            if any(s.generated for s in p.steps):
                use, skipped = way_back.frozen(conn, guard, fmt, news.get("downs"), current, target)
                generated = use or way_back.generate(conn, guard, fmt, listing, files, news.get("preamble"),
                                                     current, target)
                if skipped:  # a frozen down for this move exists, but the live schema changed since
                    generated["frozen_skipped"] = skipped
                out["generated"] = generated
                if generated.get("refused"):
                    return {**out, "refused": generated["refused"]}
                texts[mig.GENERATED] = way_back.sql_text(generated)
            tables = [t for s in p.steps for t in sql_units.relations(texts[s.file])]
            blockers = locks.blockers_now(conn, list(dict.fromkeys(tables)), guard.timeout_ms) if p.steps else []
            if blockers:
                out["blockers"] = [asdict(b) for b in blockers]
            try:
                drops = destructive_now(conn, texts, p.steps)
                out["data_loss"] = lossy(drops, allow_dynamic=dynamic_allowed(news)) + way_back.value_losses(out)
                if drops:
                    out["destructive"] = drops
                    out.update(keeps_of(drops))
                ups = [step.to for step in p.steps if step.direction == "up" and step.to is not None]
                waiting = keep.pending(conn) if ups else []
                due = [s for to in ups for s in keep.due(waiting, to)]
                if due:
                    out["restores"] = [keep.summary(s) for s in due]
            except psycopg.errors.LockNotAvailable:
                conn.rollback()
                out["data_loss"] = ["unknown: a session holds a lock on a table the down files drop"]
            marked = {s.file: m for s, m in ((s, sql_units.mode(units(files, s))) for s in p.steps
                                             if not s.generated) if m != "atomic"}
            return {**out, "non_atomic": marked} if marked else out
    except (mig.MigrationError, sql_units.UnitError, formats.FormatError, way_back.WayBackRefused) as err:
        return {"to": target, "refused": str(err)}
    except psycopg.OperationalError as err:  # preview must not fail just because the database is unreachable
        return {"to": target, "unknown": type(err).__name__}
    except Exception as err:  # a bug or an unexpected database answer: said, not hidden
        first = (str(err).strip().splitlines() or [""])[0][:300]
        return {"to": target, "unknown": f"{type(err).__name__}: {first}"}


class SchemaVersionProvider(StepProvider):
    """Moves the schema to target_version, one transaction per step, under golang-migrate's advisory lock."""

    step = "schema migration"
    keys = ("target_version", "checksums")

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Adds `plan` (from -> to, files, data at risk) so preview shows it in the resource's diff."""
        return CheckResult({**news, "plan": describe(public(news)), CHECK_ID: uuid.uuid4().hex}, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Changes when the target or checksums changed, or the database is not at the target."""
        changed = self.changed(olds, news)
        plan = normalize(news.get("plan")) or {}
        # A refresh diffs the read outputs against the inputs of the last update, whose plan that update already
        # ran: only a plan from a new check counts, and the (live, after a read) version covers the rest.
        executed = bool(news.get(CHECK_ID)) and news.get(CHECK_ID) == olds.get(CHECK_ID)
        if not executed and (plan.get("files") or plan.get("refused")):
            changed.append("plan")
        if (normalize(olds.get("version")) or 0) != int(news["target_version"]) or olds.get("dirty"):
            changed.append("version")
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def apply(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """Lock, refuse if dirty/unrecorded/missing-down/data-loss, then run each step (see _step), every statement
        under the lock budget."""
        files: dict[str, str] = news.get("sql") or {}
        target = int(news["target_version"])
        fmt = format_of(news)
        listing = fmt.listing(files)
        with locks.Guard(news.get("locks"), self.step) as guard, guard.connect(autocommit=True) as conn:
            key = lock_id(runtime_env.database_name())
            _acquire(conn, key)
            try:
                ddl = [TABLE_DDL] if fmt.name == formats.DEFAULT else fmt.ensure()
                guard.run(f"creating {fmt.table}", lambda: [conn.execute(d) for d in ddl])
                current, problem = read_live(conn, fmt, listing)
                if problem:
                    raise DirtyDatabase(problem)
                plan = mig.plan(listing.migrations, current, target, generate=not fmt.has_downs)
                verify_checksums(files, news.get("checksums") or {}, [s.file for s in plan.steps if not s.generated])
                try:
                    split = [(step, [] if step.generated else units(files, step)) for step in plan.steps]
                except sql_units.UnitError as err:
                    raise mig.MigrationError(str(err)) from None
                planned = normalize(news.get("plan")) or {}
                texts = {**files, mig.GENERATED: way_back.planned_sql(planned)}
                # Allowed, the pre-check would refuse nothing (the preview has shown what goes): it is not run.
                risks = [] if news.get("allow_data_loss") else guard.run(
                    "the data-loss pre-check", lambda: data_at_risk(conn, texts, plan.steps,
                                                                    allow_dynamic=dynamic_allowed(news))) + \
                    way_back.value_losses(planned)
                if risks:
                    raise mig.MigrationError("data-loss pre-check refused the migration: " + "; ".join(risks)
                                             + " (set allow_data_loss / rollback:allowDataLoss to proceed)")
                applied: list[str] = []
                generated: dict[str, Any] = {}
                kept = Keeping(keep.Tags(str(news.get("rollout") or "unknown"), news.get("from_label")),
                               keep.pending(conn) if any(s.direction == "up" for s in plan.steps) else [])
                for step, step_units in split:
                    moved = version_statements(step.to) if fmt.name == formats.DEFAULT else \
                        bookkeeping(conn, fmt, listing, files, current, step.to)
                    if step.generated:
                        generated = way_back.run(conn, guard, planned, moved)
                        applied.append(step.file)
                    else:
                        applied.append(self._step(conn, guard, step, step_units, current,
                                                  sha256_text(files[step.file]), moved, kept))
                    current = step.to
            finally:
                try:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                except psycopg.Error:
                    pass  # the session is gone, and its advisory lock with it
        described = {**plan.describe(), **({"generated": generated} if generated else {})}
        return {**news, "plan": described, "version": target, "dirty": False, "applied": applied,
                "lock_waits": guard.outputs(), "kept": kept.kept, "restored": kept.restored}

    @staticmethod
    def _step(conn: psycopg.Connection, guard: locks.Guard, step: mig.Step, step_units: list[sql_units.Unit],
              before: int | None, sha: str, moved: str, kept: Keeping) -> str:
        """Run one file so that the tool's bookkeeping (`moved`) never lies and is never dirty.

        An atomic file commits in ONE transaction with its version row: a cut anywhere leaves the schema clean at
        `before`. A file that commits in parts (its own COMMITs, statements that cannot run in a transaction)
        keeps the version at `before` until its last part: the parts done are recorded, in the transaction of
        each part, in rollback_control.migration_progress, and a re-run continues after them. A part whose locks
        cannot be had is retried whole (it rolled back) within the lock budget.

        Values a down part destroys are kept aside in that part's transaction, before it runs; sets kept by the down
        of the version an up step re-applies are restored in the transaction that moves its version row.
        """
        atomic = sql_units.mode(step_units) == "atomic"
        done = 0 if atomic else _progress(conn, step.file, sha, before)
        down = step.direction == "down" and before is not None
        due = keep.due(kept.waiting, step.to) if step.direction == "up" and step.to is not None else []
        keeps = down and any(not isinstance(f, data_loss.CannotTell) for u in step_units if u.transactional
                             for f in data_loss.classify(u.sql))
        results: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}

        def run_part(i: int) -> None:
            unit, last = step_units[i], i == len(step_units) - 1
            if atomic and not keeps and not due:  # one simple query: the file and its version row, ONE transaction
                conn.execute(f"{unit.sql}\n;\n{moved}")
                return
            if not unit.transactional:
                conn.execute(unit.sql)
            with conn.transaction():
                if i == 0 and due:
                    keep.changed_since(conn, due)
                aside: list[keep.Kept] = []
                if keeps and unit.transactional and unit.sql:
                    aside = keep.keep(conn, step.file, unit.sql, int(before or 0), kept.tags)
                if unit.transactional and unit.sql:
                    conn.execute(unit.sql)
                keep.after(conn, aside)
                back = keep.restore_all(conn, due, kept.tags.rollout) if last and due else []
                results[i] = ([{"id": k.id, "relation": k.relation} for k in aside], back)
                if last:
                    conn.execute(moved)  # never dirty: the tool's bookkeeping commits with the step
                    if not atomic:
                        conn.execute("DELETE FROM rollback_control.migration_progress WHERE file = %s", (step.file,))
                else:
                    _record_progress(conn, step.file, sha, before, i + 1)

        try:
            for i in range(done, len(step_units)):
                guard.run(step.file, partial(run_part, i))
                done = i + 1
                aside, back = results.pop(i, ([], []))
                kept.kept.extend(kept.listed(conn, [a["id"] for a in aside]))
                kept.restored.extend(back)
        except psycopg.OperationalError as err:  # connection cut / server gone: the server rolls the step back
            raise mig.MigrationError(
                f"the database connection was lost during {step.file}: PostgreSQL rolled back its unfinished "
                f"transaction, so the schema is clean at version {before} (or at {step.to} if the cut came after "
                f"the commit){_parts(done, step_units)}; run `up` again, it reads the live version and continues: "
                f"{str(err).strip()[:200]}") from err
        except locks.LockBudgetSpent as err:
            raise mig.MigrationError(f"{err}. {step.file} was stopped clean: the schema is at version {before}, "
                                     f"not dirty{_parts(done, step_units)}") from None
        except Exception as err:
            raise mig.MigrationError(f"{step.file} failed and was rolled back (schema still at {before}"
                                     f"{_parts(done, step_units)}): {str(err).strip()}") from err
        return step.file

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: the live version and dirty flag."""
        fmt = format_of(public(props))
        with psycopg.connect(runtime_env.database_url()) as conn:
            if fmt.name == formats.DEFAULT:
                version, dirty = read_version(conn)
            else:
                version, problem = read_live(conn, fmt, fmt.listing(props.get("sql") or {}))
                dirty = problem is not None
        return ReadResult(id_, {**props, "version": version, "dirty": dirty})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Destroying the stack never drops the schema."""


@dataclass
class Keeping:
    """An apply's kept values: its tags, the sets waiting to be restored, and what it kept and restored."""

    tags: keep.Tags
    waiting: list[dict[str, Any]]
    kept: list[dict[str, Any]] = field(default_factory=list)
    restored: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def listed(conn: psycopg.Connection, ids: list[str]) -> list[dict[str, Any]]:
        """The summaries of the sets `ids` (names and counts)."""
        return [s for s in keep.listed(conn) if s["id"] in ids] if ids else []


def _parts(done: int, step_units: list[sql_units.Unit]) -> str:
    """For a file that commits in parts: how many are in, and that a re-run continues after them."""
    if sql_units.mode(step_units) == "atomic":
        return ""
    return (f"; {done} of its {len(step_units)} parts committed, recorded in rollback_control.migration_progress: "
            f"a re-run continues with part {done + 1}")


def _progress(conn: psycopg.Connection, file: str, sha: str, before: int | None) -> int:
    """Parts of `file` already committed by an earlier, interrupted run from the same version (0 if none)."""
    conn.execute(PROGRESS_DDL)
    row = conn.execute("SELECT units_done FROM rollback_control.migration_progress WHERE file = %s AND sha256 = %s "
                       "AND from_version = %s", (file, sha, -1 if before is None else before)).fetchone()
    return int(row[0]) if row else 0


def _record_progress(conn: psycopg.Connection, file: str, sha: str, before: int | None, done: int) -> None:
    """Record that the first `done` parts of `file` committed (inside the transaction of the last of them)."""
    conn.execute("INSERT INTO rollback_control.migration_progress (file, sha256, from_version, units_done) "
                 "VALUES (%s, %s, %s, %s) ON CONFLICT (file) DO UPDATE SET sha256 = EXCLUDED.sha256, "
                 "from_version = EXCLUDED.from_version, units_done = EXCLUDED.units_done, at = now()",
                 (file, sha, -1 if before is None else before, done))


class SchemaMigration(Resource, module="rollback", name="SchemaMigration"):
    """The database schema at a golang-migrate version."""

    # Outputs, for the type checker only: Pulumi reads runtime class annotations and would convert values by them.
    if TYPE_CHECKING:
        plan: pulumi.Output[dict[str, Any]]
        version: pulumi.Output[int]
        kept: pulumi.Output[list[dict[str, Any]]]
        restored: pulumi.Output[list[dict[str, Any]]]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        outs = {"plan": None, "version": None, "dirty": None, "applied": None, "lock_waits": None, "kept": None,
                "restored": None}
        super().__init__(SchemaVersionProvider(), name, {**outs, **props}, opts)
