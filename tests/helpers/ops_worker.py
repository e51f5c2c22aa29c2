"""Child process of test_operations: a runtime serving the operations test orchestrations
until it is killed.

Usage: python ops_worker.py STORE   (STORE: a file path or "pg:URL|SCHEMA")
"""

from __future__ import annotations

import sys
import time
from typing import Any

import duroxide
from duroxide import Runtime, RuntimeOptions, SqliteProvider


def open_provider(store: str) -> Any:
    if store.startswith("pg:"):
        url, schema = store[3:].split("|", 1)
        return duroxide.PostgresProvider.connect_with_schema(url, schema)
    return SqliteProvider.open(store)


def register(runtime: Runtime) -> None:
    @runtime.register_activity("Echo")
    def echo(ctx: Any, value: Any) -> Any:
        return value

    @runtime.register_orchestration("Waiter")
    def waiter(ctx: Any, value: Any) -> Any:
        got = yield ctx.wait_for_event("go")
        echoed = yield ctx.schedule_activity("Echo", [value, got])
        return echoed

    @runtime.register_activity("Slow")
    def slow(ctx: Any, marker: str) -> Any:
        # Records each run (a line in the file `marker`) and takes 1.5 s.
        with open(marker, "a") as f:
            f.write(f"{ctx.worker_id}\n")
        time.sleep(1.5)
        return "slow done"

    @runtime.register_orchestration("SlowOne")
    def slow_one(ctx: Any, marker: str) -> Any:
        done = yield ctx.schedule_activity("Slow", marker)
        return done

    @runtime.register_activity("Charge")
    def charge(ctx: Any, switch: str) -> Any:
        # Fails while the file `switch` says "fail" (the bug); the fix is writing "ok".
        with open(switch) as f:
            if f.read().strip() == "fail":
                raise RuntimeError("card declined")
        return "charged"

    @runtime.register_orchestration("Checkout")
    def checkout(ctx: Any, switch: str) -> Any:
        reserved = yield ctx.schedule_activity("Echo", "reserved")
        charged = yield ctx.schedule_activity("Charge", switch)
        return [reserved, charged]

    @runtime.register_orchestration("Parent")
    def parent(ctx: Any, value: Any) -> Any:
        child = yield ctx.schedule_sub_orchestration_with_id("Waiter", ctx.instance_id + "/kid",
                                                             value)
        return child


def main() -> None:
    provider = open_provider(sys.argv[1])
    runtime = Runtime(provider, RuntimeOptions(dispatcher_poll_interval_ms=20,
                                               worker_lock_timeout_ms=1000))
    register(runtime)
    runtime.start()
    print("ready", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
