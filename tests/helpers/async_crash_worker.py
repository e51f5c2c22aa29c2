"""Child process of test_async_activities' SIGKILL test.

Usage: python async_crash_worker.py DB_PATH MARKER_DIR

Runs a runtime whose "Fetch" activity is `async def`: it writes a "started" marker, awaits
for a long time (an I/O wait) and returns. The parent kills this process while every one of
the fan-out's activities is in flight on the event loop.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

from duroxide import Runtime, RuntimeOptions, SqliteProvider

FANOUT = 200


def register(runtime: Runtime, marker_dir: str, delay_s: float) -> None:
    @runtime.register_activity("Fetch")
    async def fetch(ctx: Any, i: int) -> int:
        with open(os.path.join(marker_dir, f"start-{i}-{os.getpid()}-{time.monotonic_ns()}"),
                  "w") as f:
            f.write("x")
        await asyncio.sleep(delay_s)
        return i * 2

    @runtime.register_orchestration("FanOut")
    async def fan_out(ctx: Any, n: int) -> int:
        results = await ctx.all([ctx.schedule_activity("Fetch", i) for i in range(n)])
        return sum(r["ok"] for r in results)


def options() -> RuntimeOptions:
    return RuntimeOptions(dispatcher_poll_interval_ms=20, worker_lock_timeout_ms=1500,
                          orchestrator_lock_timeout_ms=1500, worker_concurrency=2)


def main() -> None:
    db_path, marker_dir = sys.argv[1], sys.argv[2]
    runtime = Runtime(SqliteProvider.open(db_path), options())
    register(runtime, marker_dir, delay_s=60.0)
    runtime.start()
    print("started", flush=True)
    while True:  # work until SIGKILL
        time.sleep(1)


if __name__ == "__main__":
    main()
