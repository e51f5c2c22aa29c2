"""Named limits are exact across processes (issue 25, docs/flow-control.md): four runtime
processes on one store run 400 activities under Limit(concurrency=3) while one of them is
SIGKILLed holding slots. Each run records its enter and exit wall times; at no instant may
more than 3 runs overlap, and all 400 must complete (the killed holder's slots come back when
its locks expire).

How the killed holder is accounted for: its runs that never exited stopped running at the
kill, so their intervals end at the kill instant. Their slots stay taken in the store until
the locks expire (at most worker_lock_timeout_ms later); that only delays other claims, so it
cannot raise the overlap, and the 400 completions prove the slots came back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import duroxide
import pytest
from helpers.util import wait_until

TESTS = Path(__file__).resolve().parent
N = 400
LIMIT = 3


@pytest.fixture(params=["file", "postgres"])
def store(request: Any, tmp_path: Path) -> Iterator[Tuple[List[str], duroxide.Client]]:
    if request.param == "file":
        db = str(tmp_path / "limits.db")
        yield ["--db", db], duroxide.Client(duroxide.SqliteProvider.open(db))
    else:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        yield (["--pg", url, schema],
               duroxide.Client(duroxide.PostgresProvider.connect_with_schema(url, schema)))


def events(path: Path) -> List[Tuple[str, int, float]]:
    out = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in ("enter", "exit"):
            out.append((parts[0], int(parts[1]), float(parts[2])))
    return out


def intervals(path: Path, killed_at: float) -> List[Tuple[float, float]]:
    """(enter, exit) of each run in one process's file; an unfinished run ends at killed_at."""
    open_runs: Dict[int, float] = {}
    out = []
    for kind, i, t in events(path):
        if kind == "enter":
            open_runs[i] = t
        else:
            out.append((open_runs.pop(i), t))
    out.extend((t, killed_at) for t in open_runs.values())
    return out


def max_overlap(spans: List[Tuple[float, float]]) -> int:
    points = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans],
                    key=lambda p: (p[0], p[1]))  # an exit before an enter at the same instant
    now = peak = 0
    for _, step in points:
        now += step
        peak = max(peak, now)
    return peak


def test_concurrency_limit_is_exact_across_processes_with_a_sigkill(
        store: Tuple[List[str], duroxide.Client], tmp_path: Path) -> None:
    args, client = store
    outs = [tmp_path / f"p{i}.out" for i in range(4)]
    procs: List[subprocess.Popen] = []
    try:
        for out in outs:
            with open(str(out) + ".err", "w") as err:  # a file, not a pipe that could fill
                procs.append(subprocess.Popen(
                    [sys.executable, str(TESTS / "helpers" / "limits_worker.py"), str(out),
                     *args], cwd=TESTS, stdout=subprocess.DEVNULL, stderr=err,
                    env=dict(os.environ)))
        assert wait_until(lambda: all(o.exists() and "ready" in o.read_text() for o in outs),
                          30)
        client.start_orchestration("fan", "Fan", N)

        def exits() -> int:
            return sum(1 for o in outs for e in events(o) if e[0] == "exit")

        assert wait_until(lambda: exits() >= N // 4, 30)
        # Kill a process that holds slots right now (an enter without its exit).
        victim = 0
        for _ in range(200):
            holding = [k for k, o in enumerate(outs)
                       if len([e for e in events(o) if e[0] == "enter"])
                       > len([e for e in events(o) if e[0] == "exit"])]
            if holding:
                victim = holding[0]
                break
            time.sleep(0.005)
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait()
        killed_at = time.time() * 1000
        result = client.wait_for_orchestration("fan", 60_000)
        assert (result.status, result.output) == ("Completed", N), result.error
        spans: List[Tuple[float, float]] = []
        for k, o in enumerate(outs):
            spans += intervals(o, killed_at if k == victim else float("inf"))
        peak = max_overlap(spans)
        assert peak <= LIMIT, f"{peak} runs overlapped under Limit(concurrency={LIMIT})"
        assert peak == LIMIT  # the limit was reached, so the test did test something
        done = {i for o in outs for kind, i, _ in events(o) if kind == "exit"}
        assert done == set(range(N))
        assert client.get_limit("three").in_flight == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_orchestration_limit_is_exact_across_two_processes(
        store: Tuple[List[str], duroxide.Client], tmp_path: Path) -> None:
    """start_orchestration(limit=) (docs/flow-control.md, "Orchestration limits"): two runtime
    processes run 40 instances of a Limit(concurrency=2) orchestration limit. Each instance
    runs one unlimited activity that records its run; an instance runs for longer than its
    activity, so the activities may never overlap more than 2."""
    args, client = store
    n, cap = 40, 2
    client.set_limit("jobs", duroxide.Limit(concurrency=cap))
    ids = [f"job-{i}" for i in range(n)]
    for i, instance in enumerate(ids):
        client.start_orchestration(instance, "Job", i, limit="jobs")
    assert {client.get_status(i).status for i in ids} == {"Pending"}
    outs = [tmp_path / f"o{i}.out" for i in range(2)]
    procs: List[subprocess.Popen] = []
    try:
        for out in outs:
            with open(str(out) + ".err", "w") as err:
                procs.append(subprocess.Popen(
                    [sys.executable, str(TESTS / "helpers" / "limits_worker.py"), str(out),
                     *args], cwd=TESTS, stdout=subprocess.DEVNULL, stderr=err,
                    env=dict(os.environ)))
        for i, instance in enumerate(ids):
            result = client.wait_for_orchestration(instance, 60_000)
            assert (result.status, result.output) == ("Completed", i), result.error
        spans: List[Tuple[float, float]] = []
        for o in outs:
            if o.exists():  # a process still starting when the last instance ended wrote none
                spans += intervals(o, float("inf"))
        peak = max_overlap(spans)
        assert peak <= cap, f"{peak} instances overlapped under a limit of {cap}"
        assert peak == cap
        info = client.get_limit("jobs")
        assert (info.in_flight, info.waiting) == (0, 0)
    finally:
        for p in procs:
            p.kill()
            p.wait()
