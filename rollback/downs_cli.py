"""`rollback downs …`: freeze the generated way back of an up-only history as reviewed SQL (rollback_stacks.downs)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rollback_stacks.model import Version
    from rollback_stacks.store import StackRecord

downs_app = typer.Typer(help="Frozen downs: the way back of an up-only history (Drizzle, Prisma, Supabase), "
                        "generated once and kept as reviewed SQL in rollback_stacks/<stack>/downs/.",
                        no_args_is_help=True)

Root = typer.Option(None, "--root", help="Directory holding the stacks (default: rollback_stacks/ of "
                    "$ROLLBACK_PROJECT_DIR, else of this repository).")
Stack = typer.Argument(..., help="Stack name: local, staging, prod, …")


def register(app: typer.Typer) -> None:
    """Add the `downs` group to the root app."""
    app.add_typer(downs_app, name="downs")


def _refuse(message: str) -> NoReturn:
    from rollback_stacks.errors import TargetError

    raise TargetError(" ".join(message.split()))


def _version(rec: StackRecord, ref: str) -> Version:
    """The version a ref names: a number, a label or last-good whatever its status, else as a target."""
    from rollback_stacks.errors import TargetError

    try:
        return rec.find(ref)
    except TargetError:
        return rec.resolve(ref, allow_candidate=True)


@downs_app.command("generate")
def generate(stack: str = Stack,
             to: str = typer.Option(..., "--to", help="The version to go down to: a version number, a label, "
                                    "last-good, …"),
             root: Path | None = Root) -> None:
    """Generate the way back from the live schema ($DATABASE_URL) to a version's, and write it for review to
    rollback_stacks/STACK/downs/<from>__<to>.sql, recorded in rollback.sum. An apply of that move runs it as
    written while the live schema is still the one it was generated from."""
    import os

    import psycopg

    from components import lock_settings
    from components.providers import locks, way_back
    from components.providers.schema import read_live
    from components.providers.schema_diff_bin import SchemaDiffMissing
    from components.target import load_target
    from rollback.redact import redact
    from rollback_stacks import downs, downs_write, formats, store

    rec = store.load(stack, root)
    version = _version(rec, to)
    db = version.database
    if db is None:
        _refuse(f"downs generate {stack} --to {to}: version {version.version} ({version.label}) has no database "
                "schema: there is no way back to generate")
    if db.format == formats.DEFAULT:
        _refuse(f"downs generate {stack} --to {to}: {stack} is a golang-migrate stack: its way back is its own "
                "*.down.sql files, nothing is generated")
    if not os.environ.get("DATABASE_URL"):
        _refuse(f"downs generate {stack}: DATABASE_URL is not set: point it at the stack's database")
    try:
        guard = locks.Guard(lock_settings.parse(rec.settings.get("rollback:locks"), stack=stack).props(),
                            "downs generate")
        release = load_target(rec, version)
        fmt = formats.get(db.format)
        listing = fmt.listing(release.migrations_sql)
        with psycopg.connect(guard.conninfo(), connect_timeout=10) as conn:
            current, problem = read_live(conn, fmt, listing)
            if problem:
                _refuse(f"downs generate {stack}: {problem}")
            target = db.schema_version
            if not current or current <= target:
                _refuse(f"downs generate {stack} --to {to}: nothing to generate: the live schema is at "
                        f"{listing.label(current)} ({fmt.table}), not above {listing.label(target)}")
            generated = way_back.generate(conn, guard, fmt, listing, release.migrations_sql, release.preamble_sql,
                                          current, target)
    except (psycopg.Error, formats.FormatError, way_back.WayBackRefused, lock_settings.LockSettingError,
            SchemaDiffMissing) as err:
        _refuse(f"downs generate {stack} --to {to}: {redact(str(err).strip())[:400]}")
    move = f"from {listing.label(current)} to {listing.label(target)}"
    if generated.get("refused"):
        _refuse(f"downs generate {stack}: no way back {move} can be generated: {generated['refused']}")
    statements = generated.get("statements") or []
    if not statements:
        _refuse(f"downs generate {stack}: nothing to generate {move}: the live schema is already the target's "
                "(only the tool's table moves)")
    header = downs.Header(fmt.name, current, listing.label(current), target, listing.label(target),
                          str(generated["live_digest"]), str(generated["target_digest"]),
                          tuple(generated.get("exclude_schemas") or ()), tuple(generated.get("exclude_tables") or ()),
                          downs.now())
    name = downs.file_name(header.from_name, header.to_name)
    text = downs.render(header, statements, generated.get("notes") or ())
    written = way_back.frozen_statements(text, name, guard.timeout_ms)

    def same(stmts: list[dict[str, Any]]) -> list[tuple[str, bool]]:
        return [(" ".join(str(s["sql"]).rstrip().rstrip(";").split()), bool(s["transactional"])) for s in stmts]

    if same(written) != same(statements):  # the file must read back as the statements generated, one for one
        _refuse(f"downs generate {stack}: the {len(statements)} generated statement(s) {move} do not read back "
                "from SQL text as generated: not frozen (the way back is generated at apply instead)")
    rel = downs_write.write(rec, name, text)
    typer.echo(f"wrote {rec.shown(rel)}: {len(statements)} statement(s) {move}, recorded in rollback.sum")
    typer.echo(f"review it in a pull request; after an edit, record it with `rollback downs seal {stack}`. An apply "
               "of this move runs it as written while the live schema is still the one it was generated from.")


@downs_app.command("seal")
def seal(stack: str = Stack, root: Path | None = Root) -> None:
    """Record reviewed edits of the stack's frozen downs in rollback.sum (and nothing else): each edited file must
    keep its header and be valid SQL."""
    from components.providers import way_back
    from rollback_stacks import downs_write

    sealed = downs_write.seal(stack, root, check=lambda text, where: way_back.frozen_statements(text, where, 0))
    if not sealed:
        typer.echo(f"nothing to seal: every frozen down of {stack} is recorded in rollback.sum as it is")
        return
    for rel in sealed:
        typer.echo(f"sealed {stack}/{rel}")
