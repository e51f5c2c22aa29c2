"""Many runtime processes on one store: one is SIGKILLed mid-run, every instance still
completes exactly once (no duplicated completion in any history).

PostgreSQL: three processes, 500 orchestrations. SQLite: two processes sharing one file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duroxide
from duroxide import Client, SqliteProvider
from helpers.util import wait_done, wait_until

WORKER_PROGRAM = r'''
import os, sys, time
import duroxide
from duroxide import Runtime, RuntimeOptions

kind = sys.argv[1]
if kind == "postgres":
    provider = duroxide.PostgresProvider.connect_with_schema(sys.argv[2], sys.argv[3])
else:
    provider = duroxide.SqliteProvider.open(sys.argv[2])
rt = Runtime(provider, RuntimeOptions(dispatcher_poll_interval_ms=50, worker_lock_timeout_ms=1000,
                                      orchestrator_lock_timeout_ms=1000))

@rt.register_activity("Add")
def add(ctx, x):
    time.sleep(0.005)
    return x + 1

@rt.register_orchestration("Job")
def job(ctx, n):
    a = yield ctx.schedule_activity("Add", n)
    yield ctx.schedule_timer(20)
    b = yield ctx.schedule_activity("Add", a)
    return {"n": n, "result": b, "pid": os.getpid()}

rt.start()
print("started", flush=True)
while True:
    time.sleep(1)
'''


def _child_env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(duroxide.__file__).resolve().parent.parent)] +
        [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}


def _run(client: Client, store_args, processes: int, count: int) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", WORKER_PROGRAM, *store_args],
                              stdout=subprocess.PIPE, env=_child_env(), text=True)
             for _ in range(processes)]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "started"
        for k in range(count):
            client.start_orchestration(f"job-{k}", "Job", k)
        # Kill one process while work is in flight.
        assert wait_until(lambda: len(client.list_instances_by_status("Completed")) >= count // 10,
                          timeout_s=120)
        assert len(client.list_instances_by_status("Completed")) < count
        procs[0].kill()
        procs[0].wait()
        pids = set()
        for k in range(count):
            result = wait_done(client, f"job-{k}", 120000)
            assert result.status == "Completed", result.error
            assert (result.output["n"], result.output["result"]) == (k, k + 2)
            pids.add(result.output["pid"])
            history = client.read_execution_history(f"job-{k}", 1)
            completed = [e.source_event_id for e in history if e.kind == "ActivityCompleted"]
            assert len(completed) == 2 and len(set(completed)) == 2, [e.kind for e in history]
            assert sum(e.kind == "TimerFired" for e in history) == 1
            assert sum(e.kind == "OrchestrationCompleted" for e in history) == 1
        assert len(pids) >= 2  # the work really was shared
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            p.stdout.close()


def test_three_postgres_processes_one_killed_500_instances(pg_url, pg_schema):
    provider = duroxide.PostgresProvider.connect_with_schema(pg_url, pg_schema)
    _run(Client(provider), ["postgres", pg_url, pg_schema], processes=3, count=500)


def test_two_sqlite_processes_on_one_file_one_killed(tmp_path):
    db = str(tmp_path / "shared.db")
    provider = SqliteProvider.open(db)
    _run(Client(provider), ["sqlite", db], processes=2, count=300)
