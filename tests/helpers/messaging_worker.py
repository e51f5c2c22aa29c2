"""Child process of test_messaging_crash: a runtime that works until it is killed.

Usage: python messaging_worker.py STORE MARKER_DIR   (STORE: a file path or "pg:URL|SCHEMA")

"Producer" sends N numbered messages to "consumer", one per turn, with a slow activity
between sends; "Consumer" receives them and requests an ack from "acker" for each.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import duroxide
from duroxide import Runtime, RuntimeOptions, SqliteProvider

N = 8


def open_provider(store: str) -> Any:
    if store.startswith("pg:"):
        url, schema = store[3:].split("|", 1)
        return duroxide.PostgresProvider.connect_with_schema(url, schema)
    return SqliteProvider.open(store)


def register(runtime: Runtime, marker_dir: str) -> None:
    @runtime.register_activity("Slow")
    def slow(ctx: Any, i: int) -> int:
        time.sleep(0.15)
        with open(os.path.join(marker_dir, f"slow-{i}-{time.monotonic_ns()}"), "w") as f:
            f.write("x")
        return i

    @runtime.register_orchestration("Producer")
    def producer(ctx: Any, n: int) -> Any:
        for i in range(n):
            yield ctx.schedule_activity("Slow", i)
            ctx.send_message("consumer", "work", i)
        return n

    @runtime.register_orchestration("Consumer")
    def consumer(ctx: Any, n: int) -> Any:
        got = []
        for _ in range(n):
            msg = yield ctx.receive_message("work")
            ack = yield ctx.request("acker", "ack", msg.data, timeout_ms=60000)
            got.append([msg.data, ack])
        return got

    @runtime.register_orchestration("Acker")
    def acker(ctx: Any, n: int) -> Any:
        for _ in range(n):
            req = yield ctx.receive_request("ack")
            yield ctx.schedule_activity("Slow", 100 + req.data)
            ctx.reply(req, req.data * 10)
        return n


def main() -> None:
    store, marker_dir = sys.argv[1], sys.argv[2]
    provider = open_provider(store)
    runtime = Runtime(provider, RuntimeOptions(dispatcher_poll_interval_ms=20,
                                               worker_lock_timeout_ms=1000,
                                               orchestrator_lock_timeout_ms=1000))
    register(runtime, marker_dir)
    runtime.start()
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
