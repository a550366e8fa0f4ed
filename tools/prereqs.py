"""The machine check `make demo` and `make test` run first, in about a second, before anything slow (the venv, a build).

    python3 tools/prereqs.py demo|test [--dry-run]

It finds every missing prerequisite at once. What Debian packages provide (PostgreSQL, Redis, jq, Python's venv
module) it installs with one `apt-get install` when running as root, as a CI runner does; otherwise it fails
naming everything missing and the one command that installs the packages. What no Debian package of this
release provides (Go >= the pinned go.mod's version, Node.js >= 20 with npm) is needed only when its build is not
cached; it is named, with where to get it, and nothing is installed. `--dry-run`: print the install command
instead of running it (the tests' way to check the root path without uninstalling packages).

Standard library only: it runs on the system's python3 before the project's virtualenv exists.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGETS = ("demo", "test")
PYTHON_MIN = (3, 11)
NODE_MIN = 20
# The builds each target runs (tools/<dir>/build.sh), what each needs when it is not cached, and what it is for.
BUILDS = {
    "pulumi-engine": ("go", "the Pulumi engine (or put the official `pulumi` CLI on PATH)"),
    "golang-migrate": ("go", "golang-migrate's CLI, the tests' oracle"),
    "pg-schema-diff": ("go", "pg-schema-diff, which plans the way back of up-only histories"),
    "node": ("node", "the npm oracles of the tests (@vercel/sdk, bullmq, drizzle-orm, supabase)"),
}
NEEDS = {"demo": ("pulumi-engine",), "test": ("pulumi-engine", "golang-migrate", "pg-schema-diff", "node")}
PG_TOOLS = ("initdb", "pg_ctl", "postgres", "psql", "pg_dump", "pg_restore")


@dataclass
class Missing:
    """What a target lacks: Debian packages (name -> what for) and other problems (one line each)."""

    packages: dict[str, str] = field(default_factory=dict)
    other: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.packages or self.other)


def postgres_bindir(which: Callable[[str], str | None], pattern: str = "/usr/lib/postgresql/*/bin") -> Path | None:
    """The server's bin dir as the sandbox finds it (sandbox.postgres.bindir): PATH, then Debian's newest."""
    found = which("pg_ctl")
    if found and which("initdb"):
        return Path(found).resolve().parent
    dirs = sorted((d for d in glob.glob(pattern) if Path(d, "pg_ctl").exists()),
                  key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit() else 0)
    return Path(dirs[-1]) if dirs else None


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text)[:3])


def go_required(builds: list[str]) -> tuple[int, ...]:
    """The highest `go` directive of the go.mod files of these builds."""
    out: tuple[int, ...] = (0,)
    for build in builds:
        for line in (REPO / "tools" / build / "go.mod").read_text().splitlines():
            if line.startswith("go "):
                out = max(out, _version(line))
    return out


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)


def cache_root(env: dict[str, str]) -> Path:
    """The builds' cache (tools/cache.sh): $ROLLBACK_CACHE, else ~/.cache/rollback-as-code."""
    return Path(env.get("ROLLBACK_CACHE") or Path(env.get("HOME") or Path.home()) / ".cache" / "rollback-as-code")


def engine_dir(env: dict[str, str]) -> Path:
    """Where tools/pulumi-engine/build.sh caches the engine: keyed by the pinned version and a hash of its sources
    (build.sh included, so that script cannot answer --cached without a rebuild for everyone; rollback.engine
    computes the same path, and tests/test_prereqs.py checks the two agree)."""
    here = REPO / "tools" / "pulumi-engine"
    version = next(line.split()[1] for line in (here / "go.mod").read_text().splitlines()
                   if line.split()[:1] == ["github.com/pulumi/pulumi/pkg/v3"])
    sources = ("go.mod", "go.sum", "main.go", "langhost/main.go", "build.sh")
    key = hashlib.sha256(b"".join((here / name).read_bytes() for name in sources)).hexdigest()[:12]
    return cache_root(env) / "engine" / f"{version}-{key}"


def cached(build: str, env: dict[str, str], which: Callable[[str], str | None]) -> bool:
    """Whether a build is already done: the engine as its build.sh finds it (a `pulumi` on PATH, else its cache);
    the others as tools/<build>/build.sh --cached says (quietly, by its exit code)."""
    if build == "pulumi-engine":
        if not env.get("ROLLBACK_FORCE_ENGINE_BUILD") and which("pulumi"):
            return True
        bindir = engine_dir(env) / "bin"
        return os.access(bindir / "pulumi", os.X_OK) and os.access(bindir / "pulumi-language-python", os.X_OK)
    return _run(["bash", str(REPO / "tools" / build / "build.sh"), "--cached"], env).returncode == 0


def missing(target: str, env: dict[str, str], *, which: Callable[[str], str | None] | None = None,
            python: tuple[int, ...] = tuple(sys.version_info[:3]), venv_ok: bool | None = None,
            pg_pattern: str = "/usr/lib/postgresql/*/bin") -> Missing:
    """Everything `make <target>` needs that this machine lacks (env: the environment the builds will see)."""
    which = which or (lambda name: shutil.which(name, path=env.get("PATH", "")))
    out = Missing()
    if python < PYTHON_MIN:
        out.other.append(f"python3 >= {'.'.join(map(str, PYTHON_MIN))} (found {'.'.join(map(str, python))}): "
                         "the project's virtualenv is made with the python3 on PATH")
    if venv_ok is None:
        venv_ok = (REPO / ".venv" / "pyvenv.cfg").is_file() or _has_venv_module()
    if not venv_ok:
        out.packages["python3-venv"] = "Python's venv module with ensurepip, for the project's virtualenv"
    bindir = postgres_bindir(which, pg_pattern)
    if bindir is None or any(not (bindir / tool).exists() for tool in PG_TOOLS):
        out.packages["postgresql"] = "PostgreSQL's server and client programs, for the sandbox's database"
    if which("redis-server") is None:
        out.packages["redis-server"] = "Redis, the sandbox's BullMQ queue server"
    if target == "test" and which("jq") is None:
        out.packages["jq"] = "jq, run by the preview workflow's comment step in its test"
    toolchains: dict[str, list[str]] = {}
    for build in NEEDS[target]:
        if not cached(build, env, which):
            toolchains.setdefault(BUILDS[build][0], []).append(build)
    if "go" in toolchains:
        want = go_required(toolchains["go"])
        go = which("go")
        have = _version(_run([go, "env", "GOVERSION"], env).stdout) if go else ()
        if have < want:
            what = "; ".join(BUILDS[b][1] for b in toolchains["go"])
            found = "go" + ".".join(map(str, have)) if have else "no go"
            out.other.append(f"Go >= {'.'.join(map(str, want))} (found {found} on PATH), to build {what}: "
                             "https://go.dev/dl")
    if "node" in toolchains:
        node, npm = which("node"), which("npm")
        have = _version(_run([node, "--version"], env).stdout) if node else ()
        if npm is None or have < (NODE_MIN,):
            found = f"node {'.'.join(map(str, have))}" if have else "no node"
            out.other.append(f"Node.js >= {NODE_MIN} with npm (found {found}, {'npm' if npm else 'no npm'}), to "
                             f"install {BUILDS['node'][1]}: https://nodejs.org")
    return out


def _has_venv_module() -> bool:
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
    except ImportError:
        return False
    return True


def apt_lists_empty() -> bool:
    """Whether apt has no package lists yet (a fresh container): `apt-get install` needs an update first."""
    return not glob.glob("/var/lib/apt/lists/*_Packages*")


def install_command(packages: list[str], *, root: bool, which: Callable[[str], str | None]) -> str | None:
    """The one command line that installs the packages (None without apt-get)."""
    if which("apt-get") is None:
        return None
    apt = f"apt-get install -y {' '.join(packages)}"
    line = f"apt-get update && {apt}" if apt_lists_empty() else apt
    if root:
        return line
    if which("sudo"):
        return f"sudo sh -c '{line}'" if "&&" in line else f"sudo {line}"
    return f"su root -c '{line}'"


def report(target: str, miss: Missing, command: str | None) -> str:
    """Every missing prerequisite in one message, ending with the one command that installs the packages."""
    lines = [f"error: `make {target}` cannot start: this machine lacks"]
    width = max((len(p) for p in miss.packages), default=0)
    lines += [f"  - {name.ljust(width)}  {why} (Debian package {name})" for name, why in miss.packages.items()]
    lines += [f"  - {problem}" for problem in miss.other]
    if miss.packages:
        names = " ".join(miss.packages)
        lines.append(f"install the packages with: {command}" if command else
                     f"install them with your system's package manager (Debian names: {names})")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Check; as root install the missing Debian packages; exit 1 with one message naming whatever is still missing."""
    args = [a for a in argv if a != "--dry-run"]
    dry_run = len(args) != len(argv)
    if len(args) != 1 or args[0] not in TARGETS:
        print(f"usage: python3 tools/prereqs.py {'|'.join(TARGETS)} [--dry-run]", file=sys.stderr)
        return 2
    target, env = args[0], dict(os.environ)
    which: Callable[[str], str | None] = lambda name: shutil.which(name, path=env.get("PATH", ""))  # noqa: E731
    miss = missing(target, env, which=which)
    if not miss:
        return 0
    root = os.geteuid() == 0
    command = install_command(list(miss.packages), root=root, which=which) if miss.packages else None
    if miss.other or not root or command is None:
        print(report(target, miss, command), file=sys.stderr)
        return 1
    apt_env = {**env, "DEBIAN_FRONTEND": "noninteractive"}
    update, install = ["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *miss.packages]
    steps = [update, install] if apt_lists_empty() else [install]
    print(f"prereqs: installing {' '.join(miss.packages)} from Debian's packages (as root): "
          f"{' && '.join(shlex.join(step) for step in steps)}", flush=True)
    if dry_run:
        print("prereqs: --dry-run: nothing installed")
        return 0
    for step in steps:
        subprocess.run(step, env=apt_env, check=False)
    if missing(target, env, which=which).packages and update not in steps:  # stale lists: update once, then retry
        subprocess.run(update, env=apt_env, check=False)
        subprocess.run(install, env=apt_env, check=False)
    still = missing(target, env, which=which)
    if still:
        print(report(target, still, install_command(list(still.packages), root=True, which=which)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
