"""`rollback targets …` and `rollback record`: parse arguments, call rollback_stacks, render the results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeGuard

import typer

if TYPE_CHECKING:
    from rollback_stacks.model import Status, Version

targets_app = typer.Typer(help="Versioned rollback targets: the record under rollback_stacks/<stack>/.",
                          no_args_is_help=True)

Root = typer.Option(None, "--root", help="Directory holding the stacks (default: rollback_stacks/ of "
                    "$ROLLBACK_PROJECT_DIR, else of this repository).")
Stack = typer.Argument(..., help="Stack name: local, staging, prod, …")
Ref = typer.Argument(..., help="A version number, label, last-good, previous, -N or before:<ISO time>.")
STATUSES = ("candidate", "known-good", "bad")


def register(app: typer.Typer) -> None:
    """Add the `targets` group and the top-level `init` and `record` commands to the root app."""
    app.add_typer(targets_app, name="targets")
    app.command("init")(init)
    app.command("record")(record)


def init(stack: str = Stack,
         migrations_dir: Path = typer.Option(..., "--migrations-dir", help="The application's migrations directory "
                                             "(referenced where it is inside the repository, else copied)."),
         format_: str | None = typer.Option(None, "--format", help="golang-migrate, drizzle, prisma or supabase "
                                            "(detected when omitted)."),
         preamble: Path | None = typer.Option(None, "--preamble", help="SQL creating what the history assumes "
                                              "before its first migration (platform schemas, roles, extensions), "
                                              "for the shadow database; copied into the stack."),
         components: str = typer.Option(",".join(("jobs", "snapshot", "schema", "dbobjects", "alias", "health")),
                                        "--components", help="Comma-separated: jobs, snapshot, schema, dbobjects, "
                                        "alias, health."),
         root: Path | None = Root) -> None:
    """Create a new stack: Pulumi.STACK.yaml (unless it exists) and an empty, valid rollback_stacks/STACK/."""
    from components.rollout import COMPONENTS
    from rollback import stacks
    from rollback_stacks import new, store

    chosen = [c.strip() for c in components.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in COMPONENTS]
    if unknown or not chosen:
        _refuse(f"--components: got {components!r}; expected a comma-separated list of {', '.join(COMPONENTS)}; "
                "fix: e.g. --components schema,alias")
    root = (root or store.default_root()).resolve()
    existing = stacks.settings_file(stack, root.parent)
    made = new.create(stack, migrations_dir, root, fmt=format_, preamble=preamble)
    settings: dict[str, Any]
    settings = {"target": "last-good", "components": [c for c in COMPONENTS if c in chosen],
                "migrationsDir": made.migrations_dir, "allowedDomains": [], "retain": store.DEFAULT_RETAIN}
    if made.format != "golang-migrate":
        settings["migrationsFormat"] = made.format
    written = stacks.write_settings(stack, settings, root.parent)
    how = "copied into the stack" if made.copied else "referenced where it is"
    typer.echo(f"created {root.name}/{stack}/ (no versions yet, an empty rollback.sum)")
    newest = f"; newest {made.names[-1]}" if made.names else ""
    typer.echo(f"migrations: {made.migrations_dir}/ ({made.format}: {len(made.versions)} version(s){newest}, {how})")
    for note in made.notes:
        typer.echo(f"note: {note}")
    if written is not None:
        typer.echo(f"created {written.name} with the rollback:* settings (target last-good, components "
                   f"{', '.join(settings['components'])}); set rollback:allowedDomains and rollback:vercelProject "
                   "to move aliases")
    else:
        have = stacks.stack_settings(stack, root.parent).get("migrationsDir")
        note = "" if have == made.migrations_dir else \
            f"; add `rollback:migrationsDir: {made.migrations_dir}` under its config: before `rollback record`"
        if made.format != "golang-migrate":
            note += f" (and `rollback:migrationsFormat: {made.format}`)"
        typer.echo(f"kept the existing {existing.name}{note}")
    typer.echo(f"next: rollback record {stack} --label LABEL --schema-version N --status known-good "
               "(or --from-live to capture the running system)")


def _is_status(value: str, allowed: tuple[str, ...] = STATUSES) -> TypeGuard[Status]:
    """Whether value is one of the allowed statuses (for the type checker, a Status from here on)."""
    return value in allowed


def _refuse(message: str) -> NoReturn:
    from rollback_stacks.errors import TargetError

    raise TargetError(message)


def _summary(v: Version, last_good: int | None) -> dict[str, Any]:
    from rollback_stacks.formats import recorded_name

    db = v.database
    return {"version": v.version, "label": v.label, "status": v.status, "created_at": v.created_at.isoformat(),
            "git_sha": v.git_sha, "deployment_id": v.app.deployment_id if v.app else None,
            "schema_version": db.schema_version if db else None,
            "schema_name": recorded_name(db.format, db.migrations, db.schema_version) if db else None,
            "watched_at": v.watches[-1].at.isoformat() if v.watches else None,
            "watch_window_seconds": v.watches[-1].window_seconds if v.watches else None,
            "last_good": v.version == last_good}


@targets_app.command("list")
def list_versions(stack: str = Stack, format_: str = typer.Option("text", "--format", help="text or json"),
                  root: Path | None = Root) -> None:
    """List a stack's versions with their status (last-good marked)."""
    from rollback_stacks import store

    if format_ not in ("text", "json"):
        _refuse(f"--format: got {format_!r}; expected text or json; fix: pass --format text or --format json")
    rec = store.load(stack, root)
    good = rec.last_good.version if rec.last_good else None
    rows = [_summary(v, good) for v in rec.versions]
    if format_ == "json":
        typer.echo(json.dumps({"stack": rec.name, "versions": rows}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{rec.name}: {len(rows)} version(s)")
    watched = any(r["watched_at"] for r in rows)  # the column appears once a version has passed a watch
    for column in ("version", "label", "status", "created", "deployment", "schema", *(["watched"] * watched),
                   ""):
        table.add_column(column)
    style = {"known-good": "green", "candidate": "yellow", "bad": "red"}
    for r in rows:
        created = r["created_at"][:16].replace("T", " ")
        table.add_row(str(r["version"]), r["label"], f"[{style[r['status']]}]{r['status']}[/]", created,
                      r["deployment_id"] or "-", r["schema_name"] or str(r["schema_version"] or "-"),
                      *([_watched(r)] * watched), "last-good" if r["last_good"] else "")
    Console().print(table)


def _watched(row: dict[str, Any]) -> str:
    """`2026-12-05 16:40 (15m)`: when the version last passed a watch, and its window."""
    from rollback_stacks.watch_settings import shown

    if not row["watched_at"]:
        return "-"
    return f"{row['watched_at'][:16].replace('T', ' ')} ({shown(row['watch_window_seconds'])})"


@targets_app.command("show")
def show(stack: str = Stack, ref: str = Ref, format_: str = typer.Option("yaml", "--format", help="yaml or json"),
         deployed: int | None = typer.Option(None, "--deployed", help="The deployed version (for previous, -N)."),
         root: Path | None = Root) -> None:
    """Show one version document (a number or label shows any status; other refs resolve as targets)."""
    from rollback_stacks import store
    from rollback_stacks.errors import TargetError

    if format_ not in ("yaml", "json"):
        _refuse(f"--format: got {format_!r}; expected yaml or json; fix: pass --format yaml or --format json")
    rec = store.load(stack, root)
    try:
        version = rec.find(ref)
    except TargetError:
        version = rec.resolve(ref, deployed=deployed)
    data = version.model_dump(mode="json", exclude_none=True)
    if format_ == "json":
        typer.echo(json.dumps(data, indent=2))
        return
    import yaml

    typer.echo(yaml.safe_dump(data, sort_keys=False, width=4096), nl=False)


@targets_app.command("validate")
def validate(dir_: Path | None = typer.Argument(None, help="A stacks directory or one stack's directory "
                                                 "(default: the repo's rollback_stacks/).")) -> None:
    """Validate every stack under DIR: schema, consistency, integrity. Exit 0 if all valid, 1 otherwise."""
    from rollback_stacks import store
    from rollback_stacks.errors import TargetError

    root = dir_ or store.default_root()
    if not root.is_dir():
        _refuse(f"{root}: got no such directory; expected a stacks directory; fix: pass an existing directory")
    single = store.is_stack(root)
    names = [root.name] if single else store.stacks(root)
    root = root.parent if single else root
    if not names:
        _refuse(f"{root}: got no stacks; expected <stack>/versions/ directories; fix: pass the rollback_stacks dir")
    failed = 0
    for name in names:
        try:
            rec = store.load(name, root)
        except TargetError as err:
            failed += 1
            typer.echo(f"invalid {name}: {err}", err=True)
            continue
        typer.echo(f"ok {name}: {len(rec.versions)} version(s), last-good "
                   f"{rec.last_good.label if rec.last_good else 'none'}")
    if failed:
        _refuse(f"{failed} of {len(names)} stack(s) invalid")


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            _refuse(f"{option}: got {item!r}; expected NAME=VALUE; fix: e.g. {option} name=value")
        out[name] = value
    return out


def _flag_value(text: str) -> Any:
    import yaml

    value = yaml.safe_load(text) if text else ""
    return value if isinstance(value, bool | int | float | str) else text


def _schema_range(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    low, sep, high = text.partition(":")
    if not (sep and low.isdigit() and high.isdigit()):
        _refuse(f"--requires-schema: got {text!r}; expected MIN:MAX (e.g. 3:5); fix: pass two schema versions")
    return int(low), int(high)


def record(stack: str = Stack,
           label: str = typer.Option(..., "--label", help="The release's label, e.g. v1.6.0."),
           from_file: Path | None = typer.Option(None, "--from-file", help="A version document to record "
                                                 "(default: a copy of the stack's newest version)."),
           git_sha: str | None = typer.Option(None, "--git-sha", help="Release commit (default: git HEAD)."),
           deployment_id: str | None = typer.Option(None, "--deployment-id", help="Vercel deployment id."),
           schema_version: str | None = typer.Option(None, "--schema-version", help="Migrations applied: the newest "
                                                     "one's number or its full name in its tool's words (a Drizzle "
                                                     "tag, a Prisma folder, a Supabase file stem)."),
           requires_schema: str | None = typer.Option(None, "--requires-schema", help="App's schema range MIN:MAX."),
           function: list[str] = typer.Option([], "--function", help="NAME=FILE (stack-relative SQL file)."),
           flag: list[str] = typer.Option([], "--flag", help="NAME=VALUE job flag (YAML scalar)."),
           status: str = typer.Option("candidate", "--status", help="candidate (default) or known-good."),
           stack_version: int | None = typer.Option(None, "--stack-version", help="Pulumi stack version."),
           from_stack: bool = typer.Option(False, "--from-stack", help="Capture the deployed state: deployment, "
                                           "schema and stack version from the stack's outputs and history; with "
                                           "--status known-good the health gate must pass first."),
           from_live: bool = typer.Option(False, "--from-live", help="Capture the running system of a stack never "
                                          "applied: schema version from the migration tool's own table, the "
                                          "deployment the "
                                          "aliases point at, the job flags."),
           root: Path | None = Root) -> None:
    """Record the running state as a new version (validated before anything is written)."""
    from rollback_stacks import record as recording

    schema: int | str | None = schema_version  # a number or name in the tool's words: resolved by its format
    if from_stack and from_live:
        _refuse("--from-stack and --from-live: got both; expected one; fix: --from-live only before the first apply")
    if from_live:
        from rollback import command

        live = command.capture_live(stack, root=root)
        deployment_id = deployment_id or live["deployment_id"]
        schema = schema if schema is not None else live["schema_version"]
        flag = [*(f"{k}={json.dumps(v)}" for k, v in live["flags"].items()), *flag]

    if from_stack:
        from rollback import command

        captured = command.capture(stack, require_healthy=status == "known-good")
        deployment_id = deployment_id or captured["deployment_id"]
        git_sha = git_sha or captured["git_sha"]
        schema = schema if schema is not None else captured["schema_version"]
        stack_version = stack_version or captured["stack_version"]

    if not _is_status(status, ("candidate", "known-good")):
        _refuse(f"--status: got {status!r}; expected candidate or known-good; fix: record, then mark it bad")
    cap = recording.Capture(label=label, source=from_file, git_sha=git_sha, deployment_id=deployment_id,
                            schema_version=schema, requires_schema=_schema_range(requires_schema),
                            functions=_pairs(function, "--function"),
                            flags={k: _flag_value(v) for k, v in _pairs(flag, "--flag").items()},
                            status=status, stack_version=stack_version,
                            base_version=captured["version"] if from_stack else None,
                            snapshot_reference=captured["snapshot_reference"] if from_stack else None)
    v = recording.record(stack, cap, root=root)
    typer.echo(f"recorded {stack} version {v.version} ({v.label}) as {v.status}")


@targets_app.command("mark")
def mark(stack: str = Stack, ref: str = typer.Argument(..., help="A version number, label or last-good."),
         status: str = typer.Option(..., "--status", help="bad, known-good or candidate."),
         reason: str = typer.Option(..., "--reason", help="Why (recorded in status_history)."),
         by: str | None = typer.Option(None, "--by", help="Who (default: the current user)."),
         root: Path | None = Root) -> None:
    """Change a version's status (the only edit a recorded version accepts; it is recorded too)."""
    import getpass

    from rollback_stacks import record as recording

    if not _is_status(status):
        _refuse(f"--status: got {status!r}; expected one of {', '.join(STATUSES)}; fix: e.g. --status bad")
    v = recording.mark(stack, ref, status, reason, by=by or getpass.getuser(), root=root)
    typer.echo(f"marked {stack} version {v.version} ({v.label}) {v.status}")


@targets_app.command("promote")
def promote(ref: str = Ref, from_: str = typer.Option("staging", "--from", help="Source stack."),
            to: str = typer.Option("prod", "--to", help="Target stack."), root: Path | None = Root) -> None:
    """Copy a known-good version from one stack to another with the target's overrides.yaml, as a candidate."""
    from rollback_stacks import promote as promoting

    v = promoting.promote(ref, source=from_, target=to, root=root)
    typer.echo(f"promoted {from_} {ref} to {to} version {v.version} ({v.label}) as {v.status}")


@targets_app.command("prune")
def prune(stack: str = Stack,
          retain: int | None = typer.Option(None, "--retain", help="Known-good versions to keep "
                                            "(default: rollback:retain, else 10)."),
          deployed: str | None = typer.Option(None, "--deployed", help="The deployed version (never pruned)."),
          dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be pruned."),
          root: Path | None = Root) -> None:
    """Remove versions beyond the newest N known-good; never the deployed version or last-good."""
    from rollback_stacks import retention

    doomed = retention.prune(stack, root=root, retain=retain, deployed=deployed, dry_run=dry_run)
    verb = "would prune" if dry_run else "pruned"
    typer.echo(f"{verb} {len(doomed)} version(s)" + "".join(f"\n  {v.version} ({v.label}, {v.status})"
                                                              for v in doomed))
    import os

    from rollback import kept

    sets = kept.prune([v.label for v in doomed], os.environ, dry_run=dry_run)
    if sets is None and doomed:
        typer.echo("kept values of the pruned versions stay in rollback_control: set DATABASE_URL to prune them too")
    elif sets:
        typer.echo(f"{verb} {sets} kept value set(s) of those versions (rollback_control)")
