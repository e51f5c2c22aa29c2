"""Crash recovery: kill the process running a workflow, then finish it in another one.

The script starts itself as a child process that runs a five-step "Pipeline" orchestration
on a SQLite file. As soon as step 3 is in progress, the parent kills the child with SIGKILL
(no cleanup, no shutdown). The parent then opens the same file with a fresh runtime: the
orchestration replays its history, skips the steps that already finished, runs the step that
was interrupted again (activities run at least once), and completes.

    PYTHONPATH=python python3 examples/crash_recovery.py
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, List

from duroxide import (
    ActivityContext,
    Client,
    OrchestrationContext,
    Runtime,
    RuntimeOptions,
    SqliteProvider,
)

STEPS = 5
INSTANCE = "pipeline-1"


def options() -> RuntimeOptions:
    # Short locks so that the survivor takes over the dead process's work after about a
    # second. The defaults (30 s for activities, 5 s for orchestration turns) suit production.
    return RuntimeOptions(worker_lock_timeout_ms=1000, orchestrator_lock_timeout_ms=1000)


def build_runtime(db: str, journal: str) -> Runtime:
    """The same code is deployed in both processes."""
    runtime = Runtime(SqliteProvider.open(db), options())

    @runtime.register_activity("Step")
    def step(ctx: ActivityContext, n: Any) -> Any:
        with open(journal, "a") as f:  # a side effect we can inspect afterwards
            f.write(f"step {n} started  in pid {os.getpid()}\n")
        time.sleep(0.3)  # the real work
        with open(journal, "a") as f:
            f.write(f"step {n} finished in pid {os.getpid()}\n")
        return {"step": n, "pid": os.getpid()}

    @runtime.register_orchestration("Pipeline")
    def pipeline(ctx: OrchestrationContext, steps: Any) -> Any:
        done = []
        for n in range(1, steps + 1):
            done.append((yield ctx.schedule_activity("Step", n)))
            ctx.set_custom_status(f"{n}/{steps} steps done")
        return done

    return runtime


def child(db: str, journal: str) -> None:
    runtime = build_runtime(db, journal)
    runtime.start()
    Client(SqliteProvider.open(db)).start_orchestration(INSTANCE, "Pipeline", STEPS)
    while True:  # work until killed
        time.sleep(1)


def journal_lines(journal: str) -> List[str]:
    if not os.path.exists(journal):
        return []
    with open(journal) as f:
        return f.read().splitlines()


def parent() -> None:
    workdir = tempfile.mkdtemp(prefix="duroxide-crash-")
    db, journal = os.path.join(workdir, "app.db"), os.path.join(workdir, "journal.txt")

    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", db, journal])
    print(f"child pid {proc.pid} started the workflow")
    deadline = time.time() + 10
    while "step 3 started  in pid %d" % proc.pid not in journal_lines(journal):
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            sys.exit("the child did not reach step 3 in time")
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    client = Client(SqliteProvider.open(db))
    status = client.get_status(INSTANCE)
    print(f"killed the child during step 3; instance is {status.status} ({status.custom_status})")

    runtime = build_runtime(db, journal)
    runtime.start()
    try:
        started = time.time()
        result = client.wait_for_orchestration(INSTANCE, 15000)
        print(f"resumed in pid {os.getpid()}: {result.status} after {time.time() - started:.1f}s")
    finally:
        runtime.shutdown(2000)

    print("results:", [(r["step"], "child" if r["pid"] == proc.pid else "parent")
                       for r in result.output])
    print("journal of side effects:")
    names = {str(proc.pid): "child", str(os.getpid()): "parent"}
    for line in journal_lines(journal):
        text, _, pid = line.rpartition(" pid ")
        print("  ", text, "the", names.get(pid, "pid " + pid))
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        parent()
