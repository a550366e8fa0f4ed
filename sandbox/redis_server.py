"""The sandbox's Redis (Debian's redis-server) on loopback, password-protected, nothing persisted."""

from __future__ import annotations

import shutil
from pathlib import Path

from rollback.errors import RollbackError
from sandbox import processes


def binary() -> str:
    """Path of redis-server, or an error saying how to install it."""
    found = shutil.which("redis-server")
    if not found:
        raise RollbackError("no redis-server on PATH (the sandbox's Redis, for BullMQ queues): "
                            "apt-get install redis-server")
    return found


def start(root: Path, port: int, password: str) -> dict[str, int]:
    """Start redis-server in root/redis; its pid and port."""
    data = root / "redis"
    data.mkdir(exist_ok=True)
    conf = data / "redis.conf"  # the password goes in a 0600 file, never on a command line
    conf.write_text(f"bind 127.0.0.1\nport {port}\nrequirepass {password}\nsave \"\"\nappendonly no\n"
                    f"dir {data}\ndaemonize no\nprotected-mode yes\n", encoding="utf-8")
    conf.chmod(0o600)
    log = root / "redis.log"
    pid = processes.spawn([binary(), str(conf)], log)
    processes.wait_listening(port, "redis", log)
    return {"pid": pid, "port": port}
