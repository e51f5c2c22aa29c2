"""Durability: work survives a runtime restart and a killed process on a file database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duroxide
from duroxide import Client, Runtime, SqliteProvider
from helpers import crash_worker
from helpers.util import raise_until_done, wait_done, wait_until

ROOT = Path(__file__).resolve().parent.parent


def _register_steps(runtime, label, executions, first_step_done):
    @runtime.register_activity("Record")
    def record(ctx, input):
        executions.append((label, input))
        if input == "one":
            first_step_done.set()
        return f"rec:{input}"


def test_restart_while_waiting_for_event(file_env, db_path):
    provider, client, make_runtime = file_env
    executions = []
    first_step_done = threading.Event()

    def orchestration(ctx, input):
        a = yield ctx.schedule_activity("Record", "one")
        approval = yield ctx.wait_for_event("go")
        b = yield ctx.schedule_activity("Record", "two")
        return {"a": a, "approval": approval, "b": b, "input": input}

    runtime1 = make_runtime()
    _register_steps(runtime1, "rt1", executions, first_step_done)
    runtime1.register_orchestration("WaitsForGo", orchestration)
    runtime1.start()
    client.start_orchestration("restart-event", "WaitsForGo", {"n": 1})
    assert first_step_done.wait(10)
    runtime1.shutdown(3000)
    assert client.get_status("restart-event").status == "Running"

    # A brand new provider, client and runtime on the same file.
    provider2 = SqliteProvider.open(str(db_path))
    client2 = Client(provider2)
    runtime2 = make_runtime(provider=provider2)
    _register_steps(runtime2, "rt2", executions, threading.Event())
    runtime2.register_orchestration("WaitsForGo", orchestration)
    runtime2.start()
    result = raise_until_done(client2, "restart-event", "go", {"ok": True})
    assert result.status == "Completed", result.error
    assert result.output == {"a": "rec:one", "approval": {"ok": True}, "b": "rec:two",
                             "input": {"n": 1}}
    # The completed first step was not re-run; the new runtime did the rest.
    assert executions == [("rt1", "one"), ("rt2", "two")]


def test_restart_while_waiting_on_timer(file_env, db_path):
    provider, client, make_runtime = file_env
    executions = []
    first_step_done = threading.Event()

    def orchestration(ctx, input):
        a = yield ctx.schedule_activity("Record", "one")
        yield ctx.schedule_timer(800)
        b = yield ctx.schedule_activity("Record", "two")
        return [a, b]

    runtime1 = make_runtime()
    _register_steps(runtime1, "rt1", executions, first_step_done)
    runtime1.register_orchestration("Sleeps", orchestration)
    runtime1.start()
    client.start_orchestration("restart-timer", "Sleeps", None)
    assert first_step_done.wait(10)
    runtime1.shutdown(3000)
    assert executions == [("rt1", "one")]
    assert client.get_status("restart-timer").status == "Running"

    provider2 = SqliteProvider.open(str(db_path))
    runtime2 = make_runtime(provider=provider2)
    _register_steps(runtime2, "rt2", executions, threading.Event())
    runtime2.register_orchestration("Sleeps", orchestration)
    runtime2.start()
    result = wait_done(Client(provider2), "restart-timer")
    assert result.status == "Completed", result.error
    assert result.output == ["rec:one", "rec:two"]
    assert executions == [("rt1", "one"), ("rt2", "two")]


def test_restart_before_any_runtime_processed_the_start(file_env, db_path):
    provider, client, make_runtime = file_env
    for i in range(3):
        client.start_orchestration(f"queued-{i}", "Echo", i)
    del client, provider

    provider2 = SqliteProvider.open(str(db_path))
    runtime = make_runtime(provider=provider2)
    runtime.register_orchestration("Echo", lambda ctx, input: {"echo": input})
    runtime.start()
    client2 = Client(provider2)
    for i in range(3):
        result = wait_done(client2, f"queued-{i}")
        assert result.status == "Completed", result.error
        assert result.output == {"echo": i}


def _markers(marker_dir: Path):
    """Marker files grouped by (instance id, step index)."""
    seen = {}
    for name in os.listdir(marker_dir):
        inst, step, _pid, _ns = name.rsplit("-", 3)
        seen.setdefault((inst, int(step)), []).append(name)
    return seen


def test_process_crash_then_parent_finishes_every_instance(tmp_path):
    db_path = tmp_path / "crash.db"
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    ids = [f"crash{i}" for i in range(4)]
    total_steps = len(ids) * crash_worker.STEPS

    provider = SqliteProvider.open(str(db_path))
    client = Client(provider)
    for iid in ids:
        client.start_orchestration(iid, "MultiStep", {"id": iid})

    env = dict(os.environ)
    # The child imports duroxide exactly as this process did (installed package, or the
    # source tree when PYTHONPATH points at it).
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(duroxide.__file__).resolve().parent.parent), env.get("PYTHONPATH", "")) if p)
    child = subprocess.Popen(
        [sys.executable, str(Path(crash_worker.__file__)), str(db_path), str(marker_dir)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    try:
        assert child.stdout.readline().strip() == b"started"
        assert wait_until(lambda: len(os.listdir(marker_dir)) >= 4, timeout_s=20), \
            "the child process made no progress"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    done_before = len(os.listdir(marker_dir))
    assert done_before < total_steps, "the child finished everything before it was killed"
    assert any(client.get_status(iid).status == "Running" for iid in ids)

    runtime = Runtime(provider, crash_worker.options())
    crash_worker.register(runtime, str(marker_dir), step_delay_s=0.0)
    runtime.start()
    try:
        for iid in ids:
            result = client.wait_for_orchestration(iid, 30000)
            assert result.status == "Completed", (iid, result.error)
            assert result.output == {
                "id": iid,
                "results": [f"{iid}:{i}" for i in range(crash_worker.STEPS)],
            }
    finally:
        runtime.shutdown(3000)

    markers = _markers(marker_dir)
    # Every step ran; a step may run twice only if the kill hit it mid-flight (at-least-once).
    assert set(markers) == {(iid, i) for iid in ids for i in range(crash_worker.STEPS)}
    reruns = sum(len(v) - 1 for v in markers.values())
    assert reruns <= 2, f"{reruns} steps re-ran; only those in flight at the kill may re-run"
