"""Child process of test_task_graphs' SIGKILL test.

Usage: python graph_crash_worker.py DB_PATH MARKER_DIR

Serves the "Pipeline" graph orchestration (a chain of stages fanning out and in) until it is
killed. Every executed Stage task writes one marker file, so the parent can tell which nodes
ran and how often.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, List

from duroxide import Registry, Runtime, RuntimeOptions, SqliteProvider

WIDTH = 3
DEPTH = 4

registry = Registry()
_marker_dir: List[str] = [""]
_delay_s: List[float] = [0.0]


@registry.task()
def stage(label: str, *inputs: Any) -> str:
    time.sleep(_delay_s[0])
    name = f"{label}-{os.getpid()}-{time.monotonic_ns()}"
    with open(os.path.join(_marker_dir[0], name), "w") as f:
        f.write("done")
    return label


@registry.register_orchestration("Pipeline")
def pipeline(ctx: Any, inp: Any) -> Any:
    prev: List[Any] = []
    for level in range(DEPTH):
        prev = [stage(f"L{level}N{i}", *prev) for i in range(WIDTH)]
    result = yield ctx.all(prev)
    return [r["ok"] for r in result]


def configure(marker_dir: str, delay_s: float) -> None:
    _marker_dir[0] = marker_dir
    _delay_s[0] = delay_s


def options() -> RuntimeOptions:
    return RuntimeOptions(dispatcher_poll_interval_ms=20, worker_lock_timeout_ms=1000,
                          orchestrator_lock_timeout_ms=1000)


def main() -> None:
    db_path, marker_dir = sys.argv[1], sys.argv[2]
    configure(marker_dir, 0.15)
    runtime = Runtime(SqliteProvider.open(db_path), options(), registry=registry)
    runtime.start()
    print("started", flush=True)
    while True:  # work until SIGKILL
        time.sleep(1)


if __name__ == "__main__":
    main()
