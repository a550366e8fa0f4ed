"""An ephemeral PostgreSQL cluster from the system's server binaries (initdb in the sandbox dir)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from rollback.errors import RollbackError

INSTALL_HINT = "PostgreSQL server binaries not found: install them with `apt-get install -y postgresql`."


def bindir() -> Path:
    """Directory of initdb/pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<ver>/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    raise RollbackError(INSTALL_HINT)


def _as_server_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the `postgres` system user then."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", _server_user(), "--", *argv]


def _server_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RollbackError("running as root but no `postgres` user exists: `apt-get install -y postgresql` creates it.")


def start(root: Path, port: int, password: str) -> dict[str, str | int]:
    """initdb and start a cluster under root/pg listening on 127.0.0.1:port; returns its record."""
    bins = bindir()
    data, sock = root / "pg" / "data", root / "pg" / "sock"
    sock.mkdir(parents=True, exist_ok=True)
    pwfile = root / "pg" / "pwfile"
    pwfile.write_text(password + "\n")
    log = root / "pg" / "server.log"
    log.touch()
    if os.geteuid() == 0:
        user = pwd.getpwnam(_server_user())
        for p in (root / "pg", sock, pwfile, log):
            os.chown(p, user.pw_uid, user.pw_gid)
    _run(_as_server_user([str(bins / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(pwfile),
                          "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                          "--locale=C", "--no-sync"]), "initdb")
    pwfile.unlink()
    # fsync off is safe against a server crash (the OS keeps the WAL); synchronous_commit stays on so a crash
    # never loses a committed migration step (the fault suite crashes the server on purpose)
    opts = (f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={sock} "
            "-c fsync=off -c full_page_writes=off")
    _run(_as_server_user([str(bins / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "60",
                          "start"]), "pg_ctl start")
    pid = int((data / "postmaster.pid").read_text().split()[0])
    return {"pid": pid, "port": port, "data": str(data), "bindir": str(bins)}


def stop(record: dict[str, str | int]) -> None:
    """Fast shutdown of the cluster; no-op when it is already gone."""
    data = Path(str(record["data"]))
    if not (data / "postmaster.pid").exists():
        return
    subprocess.run(_as_server_user([str(Path(str(record["bindir"])) / "pg_ctl"), "-D", str(data), "-m", "fast",
                                    "-w", "-t", "30", "stop"]), capture_output=True, check=False)


def _run(argv: list[str], what: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RollbackError(f"{what} failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-800:]}")
