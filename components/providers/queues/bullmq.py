"""The bullmq backend: BullMQ queues on Redis (REDIS_URL) paused and resumed with the official Python client."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from bullmq import Queue

from components import runtime_env

T = TypeVar("T")


def _run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on a loop of its own thread (the provider host may already run a loop here)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(work())
        except BaseException as err:  # handed back to the calling thread
            box["error"] = err

    thread = threading.Thread(target=target, name="bullmq")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def _each(cfg: dict[str, Any], act: Callable[[Queue], Awaitable[int]]) -> int:
    opts: dict[str, Any] = {"connection": runtime_env.require("REDIS_URL")}
    if cfg.get("prefix"):
        opts["prefix"] = cfg["prefix"]

    async def work() -> int:
        total = 0
        for name in cfg["queues"]:
            queue = Queue(name, opts)
            try:
                total += await act(queue)
            finally:
                await queue.close()
        return total

    return _run(work)


def pause(cfg: dict[str, Any]) -> int:
    """Pause every queue of the stack (workers finish what they hold and take nothing new); queues paused."""
    async def one(queue: Queue) -> int:
        await queue.pause()
        return 1

    return _each(cfg, one)


def resume(cfg: dict[str, Any]) -> int:
    """Resume every queue of the stack; queues resumed."""
    async def one(queue: Queue) -> int:
        await queue.resume()
        return 1

    return _each(cfg, one)


def running(cfg: dict[str, Any]) -> int:
    """Jobs active (held by a worker) across the stack's queues."""
    async def one(queue: Queue) -> int:
        return int((await queue.getJobCounts("active")).get("active", 0))

    return _each(cfg, one)
