"""Storage faults (issue 17, section 3; docs/reliability.md "Storage faults").

SQLite: a fault-injecting VFS (test-only, `_fault_injection=True`) makes random writes and
syncs fail with I/O errors and disk-full while a workload runs. The runtime must surface and
count the failures (`provider_errors`), retry with backoff, never corrupt the file
(PRAGMA integrity_check) and, once the faults stop, complete every instance exactly once.

Lock-expiry race: an activity outlives its lock because its worker process is paused
(SIGSTOP); another worker takes the work over; the paused worker resumes (SIGCONT) and tries
to complete too. Only one completion may be recorded.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Generator, List

import pytest

from duroxide import Client, Runtime, RuntimeOptions, SqliteProvider, _core

ROOT = Path(__file__).resolve().parent.parent


def faulty_provider(path: Path) -> SqliteProvider:
    # durability="full": every commit syncs, so sync failures are exercised too (with "normal"
    # only checkpoints sync).
    return SqliteProvider(_core.SqliteProvider.open(str(path), "full", True), "full")


def register(rt: Runtime, executions: List[int]) -> None:
    def work(ctx: Any, x: int) -> int:
        executions.append(x)
        return x * 2

    rt.register_activity("Work", work)

    def orch(ctx: Any, x: int) -> Generator[Any, Any, Any]:
        a = yield ctx.schedule_activity("Work", x)
        yield ctx.schedule_timer(5)
        b = yield ctx.all([ctx.schedule_activity("Work", x + 1000),
                           ctx.schedule_activity("Work", x + 2000)])
        ctx.set_kv_value("done", "1")
        return a + sum(item["ok"] for item in b)

    rt.register_orchestration("Faulty", orch)


def expected(x: int) -> int:
    return 2 * x + 2 * (x + 1000) + 2 * (x + 2000)


def integrity(path: Path) -> str:
    con = sqlite3.connect(path, timeout=30)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def fault_campaign(path: Path, n: int, seed: int, fault_seconds: float = 1.5) -> Dict[str, Any]:
    """Runs `n` instances with faults on for `fault_seconds`, then without; returns figures."""
    provider = faulty_provider(path)
    client = Client(provider)
    executions: List[int] = []
    rt = Runtime(provider, RuntimeOptions(dispatcher_poll_interval_ms=10,
                                          worker_lock_timeout_ms=1000,
                                          orchestrator_lock_timeout_ms=1000))
    register(rt, executions)
    rt.start()
    _core._sqlite_reset_fault_stats()
    _core._sqlite_set_faults(write_error_rate=0.02, disk_full_rate=0.01, sync_error_rate=0.02,
                             seed=seed)
    start_errors = 0
    try:
        for i in range(n):
            for _ in range(50):  # a start can hit a fault too: it fails cleanly, retry it
                try:
                    client.start_orchestration(f"f-{i}", "Faulty", i)
                    break
                except _core.InstanceAlreadyExistsError:
                    break
                except _core.ProviderError:
                    start_errors += 1
                    time.sleep(0.01)
        time.sleep(fault_seconds)  # let the workload run into faults
    finally:
        _core._sqlite_set_faults()  # faults stop
    stats = _core._sqlite_fault_stats()
    wrong = 0
    try:
        for i in range(n):
            r = client.wait_for_orchestration(f"f-{i}", 60000)
            wrong += r.status != "Completed" or r.output != expected(i)
        metrics = rt.metrics_snapshot()
    finally:
        rt.shutdown(2000)
    con = sqlite3.connect(path)
    try:
        completions = con.execute("SELECT COUNT(*) FROM history WHERE event_type = "
                                  "'OrchestrationCompleted'").fetchone()[0]
        twice = con.execute(
            "SELECT COUNT(*) FROM (SELECT instance_id FROM history WHERE event_type = "
            "'OrchestrationCompleted' GROUP BY instance_id HAVING COUNT(*) > 1)").fetchone()[0]
    finally:
        con.close()
    distinct = {x for i in range(n) for x in (i, i + 1000, i + 2000)}
    return {
        "instances": n, "faults_injected": stats["write_errors"] + stats["disk_full"] +
        stats["sync_errors"], "fault_stats": stats, "client_start_errors": start_errors,
        "provider_errors": 0 if metrics is None else metrics.provider_errors,
        "wrong_or_lost": wrong, "completions": completions, "duplicated_completions": twice,
        "activity_executions": len(executions), "missing_activities": len(distinct - set(executions)),
        "duplicate_activity_executions": len(executions) - len(set(executions)),
        "integrity_check": integrity(path),
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_sqlite_io_errors_and_disk_full(tmp_path: Path, seed: int) -> None:
    r = fault_campaign(tmp_path / "faults.db", 40, seed)
    assert r["faults_injected"] > 0, r
    assert r["provider_errors"] > 0, r  # surfaced and counted
    assert r["wrong_or_lost"] == 0, r
    assert r["completions"] == 40 and r["duplicated_completions"] == 0, r  # exactly once
    assert r["missing_activities"] == 0, r  # at least once
    assert r["integrity_check"] == "ok", r


WORKER = r"""
import sys, time
from duroxide import Runtime, RuntimeOptions, SqliteProvider
path, name, log = sys.argv[1], sys.argv[2], sys.argv[3]
provider = SqliteProvider.open(path)
rt = Runtime(provider, RuntimeOptions(orchestration_concurrency=1, worker_concurrency=1,
                                      dispatcher_poll_interval_ms=10,
                                      worker_lock_timeout_ms=1000,
                                      orchestrator_lock_timeout_ms=1000))
def slow(ctx, x):
    with open(log, "a") as f:
        f.write(f"start {name}\n")
    time.sleep(1.5)
    with open(log, "a") as f:
        f.write(f"end {name}\n")
    return name
rt.register_activity("Slow", slow)
def orch(ctx, x):
    return (yield ctx.schedule_activity("Slow", x))
rt.register_orchestration("Race", orch)
rt.start()
print("ready", flush=True)
while True:
    time.sleep(1)
"""


def test_lock_expiry_race_records_one_completion(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    log = tmp_path / "activity.log"
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    client = Client(SqliteProvider.open(str(path)))
    procs: Dict[str, subprocess.Popen[str]] = {}

    def spawn(name: str) -> subprocess.Popen[str]:
        p = subprocess.Popen([sys.executable, str(script), str(path), name, str(log)],
                             stdout=subprocess.PIPE, text=True)
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        procs[name] = p
        return p

    try:
        first = spawn("first")
        client.start_orchestration("race-1", "Race", 1)
        deadline = time.monotonic() + 20
        while not (log.exists() and "start first" in log.read_text()):
            assert time.monotonic() < deadline, "the activity never started"
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGSTOP)  # the activity now outlives its 1 s lock
        spawn("second")
        while "end second" not in log.read_text():
            assert time.monotonic() < deadline + 20, "the second worker never took over"
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGCONT)  # the first worker finishes and tries to complete
        r = client.wait_for_orchestration("race-1", 30000)
        assert r.status == "Completed"
        time.sleep(2.5)  # give the resumed worker time to (try to) record its completion
        assert first.poll() is None and procs["second"].poll() is None  # nobody died
    finally:
        for p in procs.values():
            try:
                os.kill(p.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            p.kill()
            p.wait()
            if p.stdout is not None:
                p.stdout.close()
    events = [e.kind for e in client.read_execution_history("race-1", 1)]
    assert events.count("ActivityCompleted") == 1, events
    assert events.count("OrchestrationCompleted") == 1, events
    assert json.loads(json.dumps(r.output)) in ("first", "second")
    assert integrity(path) == "ok"


if __name__ == "__main__":  # a longer campaign: python tests/test_reliability_storage_faults.py N
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
        print(json.dumps(fault_campaign(Path(tmp) / "faults.db", count, seed=int(time.time()),
                                        fault_seconds=5.0)))
