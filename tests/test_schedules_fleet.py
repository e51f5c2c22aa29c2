"""Schedules in real time across a fleet (docs/schedules.md, "The store and the firing
transaction"): three `duroxide worker` processes serve one store with an every-second
schedule while one of them is SIGKILLed, replaced, and the replacement SIGKILLed again. Every
occurrence of the window must have started exactly one run, and every run must complete, on
file SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import duroxide
import pytest
from helpers.util import wait_until

TESTS = Path(__file__).resolve().parent
WINDOW_S = 20  # occurrences, one per second


@pytest.fixture(params=["file", "postgres"])
def store(request: Any, tmp_path: Path) -> Iterator[Tuple[List[str], duroxide.Client]]:
    """(CLI store arguments, client) for a store shared between processes."""
    if request.param == "file":
        db = str(tmp_path / "sched.db")
        client = duroxide.Client(duroxide.SqliteProvider.open(db))
        yield ["--db", db], client
    else:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        client = duroxide.Client(duroxide.PostgresProvider.connect_with_schema(url, schema))
        yield ["--db", url, "--schema", schema], client


def start_worker(args: List[str], out: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "duroxide", "worker", "helpers.schedule_app:registry",
           "--heartbeat-ms", "200", *args]
    with open(out, "w") as sink:  # a file, not a pipe: a full pipe would block the worker
        return subprocess.Popen(cmd, cwd=TESTS, stdout=sink, stderr=subprocess.STDOUT,
                                env=dict(os.environ), text=True)


def serving(out: Path) -> bool:
    return out.exists() and "serving store" in out.read_text()


def test_every_occurrence_runs_once_while_workers_are_killed(
        store: Tuple[List[str], duroxide.Client], tmp_path: Path) -> None:
    args, client = store
    start_at = (int(time.time()) + 4) * 1000
    end_at = start_at + WINDOW_S * 1000
    client.create_schedule("tick", "Tick", {"n": 1}, every_ms=1000, overlap="allow_all",
                           start_at_ms=start_at, end_at_ms=end_at)
    procs: List[subprocess.Popen] = []
    try:
        for i in range(3):
            procs.append(start_worker(args, tmp_path / f"w{i}.out"))
        assert wait_until(lambda: all(serving(tmp_path / f"w{i}.out") for i in range(3)), 30)

        def kill_at(offset_s: float, victim: subprocess.Popen, name: str) -> subprocess.Popen:
            time.sleep(max(0.0, start_at / 1000 + offset_s - time.time()))
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            replacement = start_worker(args, tmp_path / name)
            procs.append(replacement)
            return replacement

        # The same slot is killed twice: the first worker, then the one that replaced it.
        second = kill_at(5.3, procs[0], "w3.out")
        kill_at(12.7, second, "w4.out")
        expected = [f"tick@{start_at + k * 1000}" for k in range(WINDOW_S)]

        def done() -> bool:
            ids = [i for i in client.list_all_instances() if i.startswith("tick@")]
            return len(ids) >= WINDOW_S and all(
                client.get_status(i).status == "Completed" for i in expected)
        assert wait_until(done, end_at / 1000 - time.time() + 30), (
            sorted(i for i in client.list_all_instances() if i.startswith("tick@")))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    ids = sorted(i for i in client.list_all_instances() if i.startswith("tick@"))
    assert ids == sorted(expected)  # each occurrence once, nothing else
    for instance_id in expected:
        assert client.list_executions(instance_id) == [1]
        assert client.get_status(instance_id).output == {"instance": instance_id,
                                                          "value": {"n": 1}}
    info = client.get_schedule("tick")
    assert (info.fired_count, info.missed_count, info.next_fire_ms) == (WINDOW_S, 0, None)
