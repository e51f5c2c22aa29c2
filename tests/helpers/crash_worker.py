"""Child process of test_durability's crash test.

Usage: python crash_worker.py DB_PATH MARKER_DIR

Runs a runtime on the file database with the "MultiStep" orchestration registered and works
until it is killed. Every executed Step activity writes one marker file, so the parent can
tell how far the work got and how often each step ran.
"""

from __future__ import annotations

import os
import sys
import time

from duroxide import Runtime, RuntimeOptions, SqliteProvider

STEPS = 5


def register(runtime: Runtime, marker_dir: str, step_delay_s: float) -> None:
    """Registers the activity and orchestration shared by the child and the parent."""

    @runtime.register_activity("Step")
    def step(ctx, input):
        time.sleep(step_delay_s)
        name = f"{input['id']}-{input['i']}-{os.getpid()}-{time.monotonic_ns()}"
        with open(os.path.join(marker_dir, name), "w") as f:
            f.write("done")
        return f"{input['id']}:{input['i']}"

    @runtime.register_orchestration("MultiStep")
    def multi_step(ctx, input):
        results = []
        for i in range(STEPS):
            r = yield ctx.schedule_activity("Step", {"id": input["id"], "i": i})
            results.append(r)
            if i == 1:
                yield ctx.schedule_timer(10)
        return {"id": input["id"], "results": results}


def options() -> RuntimeOptions:
    # Short locks so that the parent can take over the killed child's work quickly.
    return RuntimeOptions(dispatcher_poll_interval_ms=20, worker_lock_timeout_ms=1000,
                          orchestrator_lock_timeout_ms=1000)


def main() -> None:
    db_path, marker_dir = sys.argv[1], sys.argv[2]
    provider = SqliteProvider.open(db_path)
    runtime = Runtime(provider, options())
    register(runtime, marker_dir, step_delay_s=0.05)
    runtime.start()
    print("started", flush=True)
    while True:  # work until SIGKILL
        time.sleep(1)


if __name__ == "__main__":
    main()
