"""A runtime process for tests/test_flow_limits_fleet.py: serves activity "Rec" under the
declared Limit(concurrency=3) and records each run's enter/exit wall time (ms) in a file of
its own, one line per event, flushed at once (a SIGKILL loses no finished line). Also serves
orchestration "Job" (started with an orchestration limit by the test), whose unlimited
activity "Span" records its run the same way.

    python limits_worker.py OUT_FILE (--db PATH | --pg URL SCHEMA)
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

import duroxide


def main() -> None:
    out_path, kind = sys.argv[1], sys.argv[2]
    if kind == "--db":
        provider: Any = duroxide.SqliteProvider.open(sys.argv[3])
    else:
        provider = duroxide.PostgresProvider.connect_with_schema(sys.argv[3], sys.argv[4])
    sink = open(out_path, "a", buffering=1)
    lock = threading.Lock()
    options = duroxide.RuntimeOptions(dispatcher_poll_interval_ms=10, worker_concurrency=4,
                                      worker_lock_timeout_ms=1000,
                                      orchestrator_lock_timeout_ms=3000)
    runtime = duroxide.Runtime(provider, options)
    runtime.limit("three", duroxide.Limit(concurrency=3))

    @runtime.register_activity("Rec", limit="three")
    def rec(ctx: Any, i: int) -> int:
        with lock:
            sink.write(f"enter {i} {time.time() * 1000:.3f}\n")
        time.sleep(0.008)
        with lock:
            sink.write(f"exit {i} {time.time() * 1000:.3f}\n")
        return i

    @runtime.register_activity("Span")
    def span(ctx: Any, i: int) -> int:
        return rec(ctx, i)

    @runtime.register_orchestration("Job")
    def job(ctx: Any, i: int) -> Any:
        return (yield ctx.schedule_activity("Span", i))

    @runtime.register_orchestration("Fan")
    def fan(ctx: Any, n: int) -> Any:
        results = yield ctx.all([ctx.schedule_activity("Rec", i) for i in range(n)])
        return len([r for r in results if "ok" in r])

    runtime.start()
    sink.write(f"ready {os.getpid()}\n")
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
