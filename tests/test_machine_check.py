"""The machine check `make demo` and `make test` run first (tools/prereqs.py): within seconds, before the venv or any
build, every missing prerequisite in one message; as root the Debian packages are installed, otherwise the one
command that installs them is named.

The non-root runs are real: as `nobody` (setpriv) when the suite runs as root, with a PATH that hides redis-server
and jq. The root install is checked by the command it would run (--dry-run), never by uninstalling packages.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "tools" / "prereqs.py"
SYSTEM_PYTHON = "/usr/bin/python3"  # readable by `nobody` (a pyenv python under /root is not)
TOOLS = ("bash", "sh", "awk", "cat", "sha256sum", "cut", "dirname", "mktemp", "env", "make", "apt-get", "sudo",
         "pg_ctl", "initdb")  # what a machine has, less redis-server and jq (and go, node, npm unless added)


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("machine_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["machine_check"] = module
    spec.loader.exec_module(module)
    return module


check = _load_script()
ROOT = os.geteuid() == 0
SETPRIV = shutil.which("setpriv")
as_user: list[str] = [SETPRIV or "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if ROOT else []
def _can_drop_to_nobody() -> None:
    """These tests need a non-root user: as root, setpriv and the system python3 (as on CI and our machines)."""
    if ROOT and not (SETPRIV and Path(SYSTEM_PYTHON).exists()):
        pytest.fail("running as root without setpriv or /usr/bin/python3 to drop to nobody: install util-linux and "
                    "python3", pytrace=False)


needs_nobody = pytest.mark.usefixtures("_nobody")


@pytest.fixture
def _nobody() -> None:
    _can_drop_to_nobody()


class World:
    """A directory `nobody` can read: bin/ (a PATH of chosen tools) and cache/ (ROLLBACK_CACHE)."""

    def __init__(self, root: Path) -> None:
        self.root, self.bin, self.cache = root, root / "bin", root / "cache"
        self.bin.mkdir()
        self.cache.mkdir()
        for tool in TOOLS:
            self.add(tool)
        python = SYSTEM_PYTHON if ROOT else shutil.which("python3")
        assert python is not None
        os.symlink(python, self.bin / "python3")

    def add(self, tool: str) -> None:
        found = shutil.which(tool)
        if found and not (self.bin / tool).exists():
            os.symlink(found, self.bin / tool)

    def fake(self, name: str, text: str = "#!/bin/sh\nexit 0\n") -> Path:
        path = self.bin / name
        path.write_text(text)
        path.chmod(0o755)
        return path

    def cache_every_build(self) -> None:
        """Make every build look done: a `pulumi` on PATH, and the cached golang-migrate, pg-schema-diff, oracles."""
        from components.providers.schema_diff_bin import pinned_version
        from rollback.engine import go_mod_version

        self.fake("pulumi")
        migrate = go_mod_version(REPO / "tools/golang-migrate/go.mod", "github.com/golang-migrate/migrate/v4")
        built = [self.cache / "golang-migrate" / migrate / "bin/migrate",
                 self.cache / "pg-schema-diff" / pinned_version() / "bin/pg-schema-diff"]
        key = subprocess.run(["bash", "-c", "cat package.json package-lock.json | sha256sum | cut -c1-12"],
                             cwd=REPO / "tools/node", capture_output=True, text=True, check=True).stdout.strip()
        modules = self.cache / "node" / key / "node_modules"
        for pkg in ("@vercel/sdk", "bullmq", "drizzle-orm"):
            (modules / pkg).mkdir(parents=True)
        built.append(modules / ".bin/supabase")
        for path in built:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("#!/bin/sh\n")
            path.chmod(0o755)

    def env(self) -> dict[str, str]:
        return {"PATH": str(self.bin), "HOME": str(self.root), "ROLLBACK_CACHE": str(self.cache), "LC_ALL": "C"}

    def run(self, argv: list[str], *, user: list[str] | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
        start = time.monotonic()
        proc = subprocess.run([*(as_user if user is None else user), *argv], cwd=REPO, env=self.env(),
                              capture_output=True, text=True, timeout=60)
        return proc, time.monotonic() - start


@pytest.fixture
def world() -> Iterator[World]:
    root = Path(tempfile.mkdtemp(prefix="rollback-machine-"))
    root.chmod(0o755)
    try:
        yield World(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _command_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "apt-get install" in line]


@needs_nobody
@pytest.mark.parametrize("target, packages", [("demo", ["redis-server"]), ("test", ["redis-server", "jq"])])
def test_without_root_it_fails_in_seconds_naming_every_package_and_the_one_command(
        world: World, target: str, packages: list[str]) -> None:
    world.cache_every_build()
    proc, took = world.run([str(world.bin / "python3"), str(SCRIPT), target])
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert took < 5, f"took {took:.1f} s"
    assert proc.stderr.startswith(f"error: `make {target}` cannot start: this machine lacks\n")
    for name in packages:
        assert f"(Debian package {name})" in proc.stderr
    assert ("jq" in proc.stderr) == ("jq" in packages)  # the demo does not need jq
    [command] = _command_lines(proc.stderr)
    assert command.endswith(f"apt-get install -y {' '.join(packages)}") or \
        command.endswith(f"apt-get install -y {' '.join(packages)}'"), command
    assert "postgresql" not in proc.stderr  # found where Debian puts it (/usr/lib/postgresql/N/bin)


@needs_nobody
def test_make_demo_without_root_stops_at_the_check_before_the_venv_or_any_build(world: World) -> None:
    """The acceptance run: `make demo` as a non-root user on a machine without Redis or jq."""
    assert shutil.which("make"), "make is not installed"
    world.cache_every_build()
    proc, took = world.run(["make", "--no-print-directory", "demo"])
    assert proc.returncode != 0 and took < 5, (took, proc.stdout, proc.stderr)
    assert "(Debian package redis-server)" in proc.stderr and len(_command_lines(proc.stderr)) == 1
    assert proc.stdout == "" and "pip" not in proc.stderr and "engine" not in proc.stderr  # nothing slow started


@needs_nobody
def test_missing_toolchains_and_packages_come_in_one_message(world: World) -> None:
    """Nothing cached, no Go, no Node.js: the builds' needs are named with the packages, in the same message."""
    proc, took = world.run([str(world.bin / "python3"), str(SCRIPT), "test"])
    assert proc.returncode == 1 and took < 5, proc.stderr
    assert "Go >= 1.25" in proc.stderr and "https://go.dev/dl" in proc.stderr
    assert "Pulumi engine" in proc.stderr and "golang-migrate" in proc.stderr and "pg-schema-diff" in proc.stderr
    assert "Node.js >= 20 with npm" in proc.stderr
    assert "(Debian package redis-server)" in proc.stderr and "(Debian package jq)" in proc.stderr
    assert len(_command_lines(proc.stderr)) == 1


def test_as_root_it_installs_the_missing_packages_with_one_apt_get(world: World) -> None:
    assert ROOT, "the install path runs as root only: run the suite as root, as CI does"
    world.cache_every_build()
    proc, took = world.run([str(world.bin / "python3"), str(SCRIPT), "test", "--dry-run"], user=[])
    assert proc.returncode == 0 and took < 5, proc.stderr
    assert "prereqs: installing redis-server jq from Debian's packages (as root): " in proc.stdout
    assert proc.stdout.splitlines()[0].endswith("apt-get install -y -q redis-server jq")
    assert "--dry-run: nothing installed" in proc.stdout


def test_a_ready_machine_passes_quietly() -> None:
    start = time.monotonic()
    for target in ("demo", "test"):
        proc = subprocess.run([sys.executable, str(SCRIPT), target], cwd=REPO, capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == "", proc.stderr
    assert time.monotonic() - start < 5


def test_the_engine_cache_is_where_the_engine_build_and_the_verbs_put_it(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    from rollback.engine import cached_engine_dir

    monkeypatch.setenv("ROLLBACK_CACHE", str(tmp_path))
    assert check.engine_dir(dict(os.environ)) == cached_engine_dir()


def test_the_install_command_for_a_user_with_and_without_sudo() -> None:
    tools = {"apt-get": "/usr/bin/apt-get", "sudo": "/usr/bin/sudo"}
    with_sudo = check.install_command(["redis-server", "jq"], root=False, which=tools.get)
    without = check.install_command(["jq"], root=False, which={"apt-get": "/usr/bin/apt-get"}.get)
    if check.apt_lists_empty():
        assert with_sudo == "sudo sh -c 'apt-get update && apt-get install -y redis-server jq'"
    else:
        assert with_sudo == "sudo apt-get install -y redis-server jq"
        assert without == "su root -c 'apt-get install -y jq'"
    assert check.install_command(["jq"], root=False, which={}.get) is None


def test_the_report_names_everything_and_ends_with_the_command() -> None:
    miss = check.Missing({"redis-server": "Redis", "jq": "jq"}, ["Go >= 1.25.11 (found no go on PATH)"])
    text = check.report("test", miss, "sudo apt-get install -y redis-server jq")
    assert text.splitlines() == ["error: `make test` cannot start: this machine lacks",
                                 "  - redis-server  Redis (Debian package redis-server)",
                                 "  - jq            jq (Debian package jq)",
                                 "  - Go >= 1.25.11 (found no go on PATH)",
                                 "install the packages with: sudo apt-get install -y redis-server jq"]


def test_a_missing_venv_module_is_a_debian_package() -> None:
    miss = check.missing("demo", dict(os.environ), venv_ok=False)
    assert "python3-venv" in miss.packages


def test_an_old_python_is_named() -> None:
    miss = check.missing("demo", dict(os.environ), python=(3, 9, 2))
    assert any(p.startswith("python3 >= 3.11 (found 3.9.2)") for p in miss.other)
