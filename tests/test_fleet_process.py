"""`duroxide worker` processes (docs/deployment.md): start-up log and exit codes, unreachable
after SIGKILL, drain on SIGTERM while activities run, and a multi-process run on PostgreSQL
with one worker killed and one drained."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import duroxide
from helpers.util import wait_until

TESTS = Path(__file__).resolve().parent


@pytest.fixture(params=["file", "postgres"])
def store(request: Any, tmp_path: Path) -> Iterator[Tuple[str, List[str], Any]]:
    """(db, extra CLI args, client) for a store shared between processes."""
    if request.param == "file":
        db = str(tmp_path / "fleet.db")
        client = duroxide.Client(duroxide.SqliteProvider.open(db))
        yield db, [], client
    else:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        client = duroxide.Client(duroxide.PostgresProvider.connect_with_schema(url, schema))
        yield url, ["--schema", schema], client


class Workers:
    """Starts `duroxide worker helpers.fleet_app:registry` processes; kills leftovers."""

    def __init__(self, tmp_path: Path) -> None:
        self.log = tmp_path / "executions.log"
        self.procs: List[subprocess.Popen] = []

    def start(self, db: str, extra: List[str], *args: str) -> subprocess.Popen:
        env = dict(os.environ, FLEET_LOG=str(self.log))
        cmd = [sys.executable, "-m", "duroxide", "worker", "helpers.fleet_app:registry",
               "--db", db, "--heartbeat-ms", "200", *extra, *args]
        out = self.log.parent / f"worker-{len(self.procs)}.out"
        with open(out, "w") as sink:  # a file, not a pipe: a full pipe would block the worker
            proc = subprocess.Popen(cmd, cwd=TESTS, env=env, stdout=sink,
                                    stderr=subprocess.STDOUT, text=True)
        proc.output_path = out  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def executions(self) -> List[Dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    w = Workers(tmp_path)
    try:
        yield w
    finally:
        w.close()


def first_line(proc: subprocess.Popen, timeout_s: float = 30.0) -> str:
    """The worker's start-up line (waits for it)."""
    path: Path = proc.output_path  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in path.read_text().splitlines():
            if "serving store" in line:
                return line
        assert proc.poll() is None, path.read_text()
        time.sleep(0.05)
    raise AssertionError("worker did not start: " + path.read_text())


def by_pid(client: Any, pid: int) -> Any:
    for w in client.list_workers():
        if w.pid == pid:
            return w
    return None


def run_cli(*args: str, env: Any = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "duroxide", *args], cwd=TESTS, env=env,
                          capture_output=True, text=True, timeout=60)


def test_bad_targets_exit_2_and_an_unreachable_store_exits_1(tmp_path: Path):
    db = str(tmp_path / "x.db")
    for target, text in (("no_such_module_xyz:registry", "cannot import module"),
                         ("helpers.fleet_app:missing", "has no attribute"),
                         ("helpers.fleet_app:not_a_registry", "not a duroxide.Registry")):
        r = run_cli("worker", target, "--db", db)
        assert r.returncode == 2 and text in r.stderr, (target, r.stderr)
    url = "postgresql://nobody:secret@127.0.0.1:1/none"
    r = run_cli("worker", "helpers.fleet_app:registry", "--db", url)
    assert r.returncode == 1 and "cannot reach store" in r.stderr and "127.0.0.1" in r.stderr
    assert "secret" not in r.stderr
    env = {k: v for k, v in os.environ.items() if k != "DUROXIDE_DB"}
    r = run_cli("worker", "helpers.fleet_app:registry", env=env)
    assert r.returncode == 2 and "no store given" in r.stderr


def test_sigkilled_worker_becomes_unreachable_and_restart_keeps_identity(store, workers):
    db, extra, client = store
    proc = workers.start(db, extra, "--node-id", "node-k")
    line = first_line(proc)
    w = client.get_worker("node-k")
    assert w.name in line and "Job@1.0.0" in line and "Work" in line
    assert w.status == "active" and w.pid == proc.pid
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert wait_until(lambda: client.get_worker("node-k").status == "unreachable", timeout_s=5)
    again = workers.start(db, extra, "--node-id", "node-k")
    first_line(again)
    w2 = client.get_worker("node-k")
    assert (w2.name, w2.status, w2.pid) == (w.name, "active", again.pid)


def test_sigterm_drains_while_activities_run(store, workers):
    db, extra, client = store
    proc = workers.start(db, extra, "--worker-concurrency", "4", "--grace-seconds", "20")
    first_line(proc)
    for i in range(4):
        client.start_orchestration(f"t{i}", "Job", {"sleep": 1.0, "steps": 1})
    def running() -> int:
        w = by_pid(client, proc.pid)
        return 0 if w is None else int(w.load.get("activities_in_flight", 0))

    assert wait_until(lambda: running() >= 2, timeout_s=10)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    w = by_pid(client, proc.pid)
    assert w.status == "stopped"
    # A second worker finishes the orchestrations; no activity ran twice or was lost.
    other = workers.start(db, extra)
    first_line(other)
    for i in range(4):
        assert client.wait_for_orchestration(f"t{i}", 20000).status == "Completed"
    counts = Counter(e["instance"] for e in workers.executions())
    assert counts == Counter({f"t{i}": 1 for i in range(4)}), counts
    drained_pids = {e["pid"] for e in workers.executions()}
    assert proc.pid in drained_pids  # the in-flight ones finished on the drained worker


def test_cli_workers_table_drain_and_doctor(store, workers):
    db, extra, client = store
    proc = workers.start(db, extra, "--name-hint", "ingest")
    first_line(proc)
    name = by_pid(client, proc.pid).name
    assert name.startswith("ingest")
    r = run_cli("workers", "--db", db, *extra)
    assert r.returncode == 0, r.stderr
    for column in ("NAME", "HOST", "STATUS", "LOAD", "SESSIONS", "LAST SEEN"):
        assert column in r.stdout
    assert name in r.stdout and "active" in r.stdout
    client.start_orchestration("lost", "NoSuchOrchestration", None)
    assert wait_until(lambda: client.list_unservable_work() != [], timeout_s=5)
    # The worker keeps fetching the item and handing it back (with backoff); while it holds
    # the instance lock for that moment the item counts as being worked on, so one doctor run
    # can land in that window: look again until the report names it.
    doctor: list = []

    def doctor_names_it() -> bool:
        doctor.append(run_cli("doctor", "--db", db, *extra))
        return doctor[-1].returncode == 0 and "NoSuchOrchestration" in doctor[-1].stdout

    assert wait_until(doctor_names_it, timeout_s=10), doctor[-1].stdout + doctor[-1].stderr
    r = run_cli("workers", "drain", name, "--db", db, *extra)
    assert r.returncode == 0, r.stderr
    assert proc.wait(timeout=20) == 0
    assert client.get_worker(name).status == "stopped"


def test_multi_process_fleet_on_postgres(pg_url: str, pg_schema: str, workers: Workers):
    """Three worker processes serve orchestrations with sessions; one is SIGKILLed and one is
    drained; every instance completes once and the sessions move to the third worker.

    1,000 orchestrations of 2 session activities over 30 sessions (~35 s, most of it the
    killed worker's activity locks expiring); FLEET_INSTANCES overrides the count."""
    count = int(os.environ.get("FLEET_INSTANCES", "1000"))
    client = duroxide.Client(duroxide.PostgresProvider.connect_with_schema(pg_url, pg_schema))
    extra = ["--schema", pg_schema, "--worker-concurrency", "4"]
    procs = [workers.start(pg_url, extra, "--node-id", f"node-{i}") for i in range(3)]
    for proc in procs:
        first_line(proc)
    for i in range(count):
        client.start_orchestration(f"m{i}", "Job",
                                   {"session": f"s{i % 30}", "steps": 2, "sleep": 0.01})
    assert wait_until(lambda: len(workers.executions()) >= count // 4, timeout_s=60)
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait()
    client.drain_worker("node-1")
    assert procs[1].wait(timeout=60) == 0
    deadline = time.monotonic() + 90
    for i in range(count):
        remaining = max(1, int((deadline - time.monotonic()) * 1000))
        assert client.wait_for_orchestration(f"m{i}", remaining).status == "Completed", i
    statuses = {w.worker_id: w.status for w in client.list_workers()}
    assert statuses == {"node-0": "unreachable", "node-1": "stopped", "node-2": "active"}
    # Each instance ran each activity once, except what the killed worker held when it died:
    # an activity in flight, or one it had finished whose acknowledgement was still relayed to
    # its next orchestration fetch (PostgreSQL's completion relay, at most 20 ms old):
    # redelivered after its lock expired. So every extra run is a rerun of an activity the
    # killed process ran, and each ran at most twice.
    runs = Counter((e["instance"], e["value"]) for e in workers.executions())
    assert set(runs) == {(f"m{i}", s) for i in range(count) for s in range(2)}
    killed = procs[0].pid
    by_killed = {(e["instance"], e["value"]) for e in workers.executions() if e["pid"] == killed}
    extra_runs = [k for k, n in runs.items() if n > 1]
    assert set(extra_runs) <= by_killed, extra_runs
    assert all(runs[k] == 2 for k in extra_runs), extra_runs
    assert client.get_worker("node-2").sessions_held == 30
    assert all(e["pid"] != killed for e in workers.executions()[-count // 4:])
