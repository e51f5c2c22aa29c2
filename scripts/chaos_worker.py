"""One chaos worker process: a Runtime serving the mixed chaos workload (scripts/chaos.py).

    python scripts/chaos_worker.py --sqlite PATH | --pg URL --schema S  --log FILE

Every activity execution appends "<instance> <activity input>" to --log (one O_APPEND write
per line), so the driver can count executions that happened more than once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Callable, Dict, Generator, Optional

from duroxide import Registry, Runtime, RuntimeOptions, SqliteProvider

# Short locks so that the work of a killed process is taken over quickly.
OPTIONS: Dict[str, Any] = dict(
    orchestration_concurrency=2, worker_concurrency=2, dispatcher_poll_interval_ms=20,
    worker_lock_timeout_ms=2000, orchestrator_lock_timeout_ms=2000)


def expected_output(n: int) -> int:
    """The output of Mixed(n) (see mixed below)."""
    first_generation = (n + 1) + (n + 2) + (n + 3) + (n + 11)
    second_generation = n + 101
    return first_generation + second_generation + len(f"q-{n}")


def register(rt: Runtime, log_path: str) -> None:
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def inc(ctx: Any, x: int) -> int:
        os.write(log_fd, f"{ctx.instance_id} {x}\n".encode())
        time.sleep(0.005)
        return x + 1

    rt.register_activity("Inc", inc)

    def child(ctx: Any, n: int) -> Generator[Any, Any, Any]:
        return (yield ctx.schedule_activity("Inc", n + 10))

    def mixed(ctx: Any, state: Dict[str, Any]) -> Generator[Any, Any, Any]:
        n = state["n"]
        if state.get("gen", 0) == 1:
            last = yield ctx.schedule_activity("Inc", n + 100)
            return state["acc"] + last
        a = yield ctx.schedule_activity("Inc", n)
        yield ctx.schedule_timer(10)
        pair = yield ctx.all([ctx.schedule_activity("Inc", n + 1),
                              ctx.schedule_activity("Inc", n + 2)])
        sub = yield ctx.schedule_sub_orchestration("Child", n)
        msg = yield ctx.dequeue_event("Q")
        ctx.set_kv_value("seen", str(msg))
        acc = a + pair[0]["ok"] + pair[1]["ok"] + sub + len(str(msg))
        yield ctx.continue_as_new({"n": n, "gen": 1, "acc": acc})

    rt.register_orchestration("Child", child)
    rt.register_orchestration("Mixed", mixed)


def open_provider(args: argparse.Namespace) -> Any:
    if args.sqlite:
        return SqliteProvider.open(args.sqlite)
    from duroxide import PostgresProvider

    return PostgresProvider.connect_with_schema(args.pg, args.schema)


def serve(name: str, register_all: Callable[[Runtime, str], None],
          registry: Optional[Registry] = None) -> int:
    """The worker process of a campaign: parse the store arguments, open the store (waiting
    while it restarts), register with `register_all(runtime, log_path)`, run until killed.
    scripts/soak_worker.py serves its workload through this too."""
    p = argparse.ArgumentParser()
    p.add_argument("--sqlite")
    p.add_argument("--pg")
    p.add_argument("--schema", default="public")
    p.add_argument("--log", required=True)
    args = p.parse_args()
    while True:  # the store may be restarting when this process starts
        try:
            provider = open_provider(args)
            break
        except RuntimeError as exc:
            print(f"{name}: store not ready ({exc}); retrying", file=sys.stderr)
            time.sleep(0.5)
    rt = Runtime(provider, RuntimeOptions(**OPTIONS), registry=registry)
    register_all(rt, args.log)
    rt.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def main() -> int:
    return serve("chaos worker", register)


if __name__ == "__main__":
    sys.exit(main())
