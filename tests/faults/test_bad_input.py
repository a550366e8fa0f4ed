"""Scenario 5: 10 000 generated malformed version documents (seeded) and generated CLI argument combinations:
no traceback, no change to files, state or database, and every refusal names the problem."""

from __future__ import annotations

import hashlib
import multiprocessing
import random
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import rollback_stacks
from rollback.errors import RollbackError
from rollback_stacks import TargetError
from rollback_stacks.store import parse_version
from tests.faults.conftest import CLI, World, world

pytestmark = pytest.mark.faults
REPO = Path(__file__).resolve().parents[2]
SEED = 20261122
DOCS_PARSED, DOCS_LOADED, ARG_COMBOS = 8_000, 400, 1_600  # 10 000 generated inputs in all
HOSTILE_VALUES = ["", "~", "[]", "{}", "-1", "1e309", "!!python/object/apply:os.system ['id']", "&a x", "*a",
                  "'unterminated", '"\\x00"', "\t", "0x1F", "yes", "2026-13-45T99:00:00Z", "a" * 5000,
                  "../../etc/passwd", "/etc/passwd", "${HOME}", "postgres://u:p@h/db", "!!binary aGk=",
                  "!!set {a}", "? complex", "- item", "{{", "]]", "!!python/name:os.system", "9" * 400,
                  "\u202e\u0000", "nan", ".inf", "null", "[1, [2, [3, [4]]]]", "%TAG ! tag:x", "@x", "`x`"]
KEYS = ["version", "label", "created_at", "status", "app", "domains", "deployment_id", "database", "schema_version",
        "migrations", "functions", "file", "sha256", "triggers", "enabled", "jobs", "flags", "health", "http",
        "sql", "metrics", "budget_seconds", "snapshot", "backend", "pulumi"]


def mutate(text: str, rng: random.Random) -> tuple[str, str]:
    """One malformed variant of a version document and the kind of damage done."""
    lines = text.splitlines()
    if len(lines) < 3:
        return text + "\n:", "truncate"
    kind = rng.choice(["delete-line", "duplicate-line", "hostile-value", "rename-key", "raw-bytes", "truncate",
                       "indent", "unknown-key", "swap-lines", "anchor-bomb", "type-flip", "double-mutation"])
    i = rng.randrange(len(lines))
    if kind == "delete-line":
        del lines[i]
    elif kind == "duplicate-line":
        lines.insert(i, lines[i])
    elif kind == "hostile-value":
        j = next((k for k in range(i, len(lines)) if ":" in lines[k]), 1)
        key = lines[j].split(":", 1)[0]
        lines[j] = f"{key}: {rng.choice(HOSTILE_VALUES)}"
    elif kind == "rename-key":
        j = next((k for k in range(i, len(lines)) if ":" in lines[k] and not lines[k].strip().startswith("-")), 1)
        key, rest = lines[j].split(":", 1)
        lines[j] = f"{key}{rng.choice(['x', '_', 'S', ' x'])}:{rest}"
    elif kind == "raw-bytes":
        pos = rng.randrange(len(text))
        return text[:pos] + rng.choice(["\x00", "\x1b[31m", "\ufeff", "\udcff", "\t", "\r", ":", "- ", "'"]) \
            + text[pos:], kind
    elif kind == "truncate":
        return text[:rng.randrange(1, len(text))], kind
    elif kind == "indent":
        lines[i] = rng.choice(["", " ", "   ", "\t"]) + lines[i].lstrip() if rng.random() < 0.5 else "  " + lines[i]
    elif kind == "unknown-key":
        lines.insert(i, " " * rng.choice([0, 2, 4]) + f"{rng.choice(KEYS)}_{rng.randrange(99)}: {rng.randrange(9)}")
    elif kind == "swap-lines":
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        if i == j:
            del lines[i]
            lines.append(": :")
    elif kind == "anchor-bomb":
        lines.append("bomb: &b [" + ", ".join(["*b"] * 8) + "]")
    elif kind == "type-flip":
        j = next((k for k in range(i, len(lines)) if ": " in lines[k]), 1)
        key = lines[j].split(":", 1)[0]
        lines[j] = f"{key}: {rng.choice(['[1, 2]', '{a: 1}', 'true', '3.5', '-7', 'x' * 300])}"
    else:
        first, _ = mutate(text, rng)
        return mutate(first, rng)[0], kind
    return "\n".join(lines) + "\n", kind


def _check_one(args: tuple[int, str]) -> tuple[str, str, str]:
    """Parse one generated document; returns (kind, outcome, message) — outcome 'refused', 'valid' or 'traceback'."""
    seed, path = args
    rng = random.Random(seed)
    text, kind = mutate(Path(path).read_text(), rng)
    where = "local/versions/0002.yaml"
    scratch = Path(path).parents[3] / "scratch" / f"{seed}.yaml"
    scratch.write_bytes(text.encode("utf-8", "surrogateescape"))
    try:
        parse_version(scratch, where)
    except TargetError as err:
        return kind, "refused", str(err)
    except Exception as err:  # anything else would be a traceback for the user
        return kind, "traceback", f"{type(err).__name__}: {err}"
    finally:
        scratch.unlink()
    return kind, "valid", ""


def _meaning(text: str) -> object:
    """The parsed content of a YAML text (comments and layout ignored)."""
    return yaml.safe_load(text)


def tree_digest(base: Path) -> str:
    """One hash over every file under base."""
    h = hashlib.sha256()
    for p in sorted(base.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(base)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A scratch copy of the local stack and its Pulumi.local.yaml."""
    dest = tmp_path / "rollback_stacks"
    shutil.copytree(REPO / "rollback_stacks" / "local", dest / "local")
    shutil.copy2(REPO / "Pulumi.local.yaml", tmp_path / "Pulumi.local.yaml")
    (tmp_path / "scratch").mkdir()
    return dest


def names_the_problem(msg: str) -> bool:
    """A refusal names the file and says what was expected."""
    return "0002.yaml" in msg and ("expected" in msg or "got" in msg)


def test_ten_thousand_malformed_documents(root: Path):
    original = root / "local" / "versions" / "0002.yaml"
    pristine = tree_digest(root / "local")
    work = [(SEED + i, str(original)) for i in range(DOCS_PARSED)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map(_check_one, work, chunksize=200)
    text = original.read_text()
    rng = random.Random(SEED - 1)
    for _ in range(DOCS_LOADED):  # the whole loader (consistency, sums) on the scratch stack
        bad, kind = mutate(text, rng)
        original.write_bytes(bad.encode("utf-8", "surrogateescape"))
        try:
            rollback_stacks.load("local", root)
            # a mutation that leaves the document's meaning intact (e.g. inside a comment) is not a change
            results.append((kind, "valid" if _meaning(bad) != _meaning(text) else "unchanged", ""))
        except TargetError as err:
            results.append((kind, "refused", str(err)))
        except Exception as err:
            results.append((kind, "traceback", f"{type(err).__name__}: {err}"))
    original.write_text(text)
    assert tree_digest(root / "local") == pristine
    assert len(results) + ARG_COMBOS == 10_000
    tracebacks = [r for r in results if r[1] == "traceback"]
    assert not tracebacks, tracebacks[:5]
    unnamed = [r for r in results if r[1] == "refused" and not names_the_problem(r[2])]
    assert not unnamed, unnamed[:5]
    loaded_valid = [r for r in results[DOCS_PARSED:] if r[1] == "valid"]
    assert not loaded_valid, "a changed version document passed the full load (sums) check"
    counts = Counter((kind, outcome) for kind, outcome, _ in results)
    print("document outcomes:", dict(sorted(counts.items())))
    assert sum(n for (_, outcome), n in counts.items() if outcome == "refused") >= 0.85 * len(results)


@pytest.fixture(scope="module")
def deployed(sandbox, engine_dir, tmp_path_factory) -> Iterator[World]:
    """v1.4.2 deployed through the CLI: the state and database the argument combinations must not change."""
    for wd in world(sandbox, tmp_path_factory.mktemp("bad-args"), "args"):
        assert wd.run("apply", "local", "--to", "v1.4.2", "--yes").code == 0
        yield wd


def fingerprint(w: World) -> tuple[Any, ...]:
    """Database, alias and checkpoint resources: what no refused command may change."""
    return (w.db(), w.alias(), w.checkpoint()["resources"])


STACKS = ["PROD", "../local", "local/../prod", "", "lo cal", "nope", "x" * 300, "-local", "local\x00"]
REFS = ["v9.9.9", "-0", "-99", "before:yesterday", "before:", "../../etc/passwd", "'; DROP TABLE x; --", "", "∞",
        "previous-ish", "0", "-1.5", "0x2", "last-good;rm -rf /"]
COMPONENTS = ["", ",", "jobs,nope", "../schema", "schema;alias", "JOBS", "app,db,xyz", "health " * 3]


def combos(rng: random.Random, n: int) -> list[list[str]]:
    """Argument lists that are each wrong in at least one place (so none may change anything)."""
    out: list[list[str]] = []
    for _ in range(n):
        verb = rng.choice(["apply", "plan", "status", "verify", "targets", "record", "export", "decide"])
        stack = rng.choice(STACKS)
        if verb in ("apply", "plan"):
            args = [verb, stack, "--to", rng.choice(REFS + ["last-good", "v1.4.2"])]
            if rng.random() < 0.5:
                args += ["--components", rng.choice(COMPONENTS)]
            if verb == "plan" and rng.random() < 0.4:
                args += ["--format", rng.choice(["yaml", "", "JSON", "json;"])]
            if verb == "apply" and rng.random() < 0.5:
                args += ["--yes"]
        elif verb == "targets":
            args = ["targets", rng.choice(["list", "show", "validate", "mark", "promote", "prune"]), stack]
            args += rng.choice([[], ["--root", "/nonexistent"], ["--to", "prod"], ["--status", "great"], ["-x"]])
        elif verb == "record":
            args = ["record", stack, "--label", rng.choice(["", "v1.4.2", "../x"]), "--schema-version",
                    rng.choice(["-1", "abc", "99"])]
        elif verb == "export":
            args = ["export", stack, "--version", rng.choice(["0", "-1", "abc", "999"])]
        elif verb == "decide":
            args = ["decide", "--validation", rng.choice(["/nonexistent.json", "/etc/passwd", ""]),
                    "--format", rng.choice(["xml", "json"])]
        else:
            args = [verb, stack] + rng.choice([[], ["--format", "yaml"], ["--budget-seconds", "-5"]])
        if rng.random() < 0.15:
            args.insert(rng.randrange(1, len(args) + 1), rng.choice(["--no-such-option", "--yes=maybe", "-Z"]))
        out.append(args)
    return out


def test_cli_argument_combinations_refused_without_change(deployed: World, monkeypatch):
    w = deployed
    before = fingerprint(w)
    env = {k: v for k, v in w.env.items() if isinstance(v, str)}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(w.base)
    from rollback.cli import app

    runner = CliRunner()
    results: Counter[str] = Counter()
    for args in combos(random.Random(SEED), ARG_COMBOS):
        res = runner.invoke(app, args, catch_exceptions=True)
        exc = res.exception
        if exc is None or isinstance(exc, SystemExit):
            assert res.exit_code != 0, f"{args}: accepted"
            assert "Traceback" not in res.output
            results["usage error (exit 2)" if res.exit_code == 2 else f"exit {res.exit_code}"] += 1
        else:
            assert isinstance(exc, RollbackError), f"{args}: traceback {type(exc).__name__}: {exc}"
            assert str(exc).strip(), f"{args}: empty message"
            results["RollbackError → `error: …` exit 1"] += 1
    # a few through the real entry point, as separate processes (these reach the engine for the stack)
    procs = [(args, subprocess.run([*CLI, *args], env=w.env, stdin=subprocess.DEVNULL, capture_output=True,
                                   text=True, timeout=120))
             for args in (["plan", "local", "--to", "v9.9.9"], ["apply", "local", "--to", "before:2001-01-01T00:00Z",
                                                               "--yes"],
                          ["apply", "local", "--to", "last-good"], ["apply", "local", "--to", "-99", "--yes"],
                          ["plan", "local", "--to", "v1.4.2", "--components", "nope"],
                          ["apply", "PROD", "--to", "last-good", "--yes"], ["status", "../local"])]
    for args, proc in procs:
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, (args, proc.stderr)
        assert proc.stderr.startswith("error: ") and len(proc.stderr.strip()) > 20, (args, proc.stderr)
        results["subprocess error: … exit 1"] += 1
    print("argument outcomes:", dict(results))
    assert fingerprint(w) == before
