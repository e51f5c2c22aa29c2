"""`async def` activities (issue 23): one event loop per runtime, many in flight, no worker
slot held while awaiting; cancellation, bounds, stall reports, crash safety."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import duroxide
import pytest
from conftest import fast_options
from helpers import async_crash_worker
from helpers.util import wait_done, wait_until


def test_many_in_flight_on_two_worker_slots(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime(fast_options(worker_concurrency=2))
    live = {"now": 0, "peak": 0}

    @runtime.register_activity("Wait")
    async def wait(ctx: Any, i: int) -> int:
        live["now"] += 1  # the loop is one thread: no lock needed
        live["peak"] = max(live["peak"], live["now"])
        await asyncio.sleep(0.3)
        live["now"] -= 1
        assert duroxide.current_activity() is ctx
        return i

    @runtime.register_orchestration("Fan")
    async def fan(ctx: Any, n: int) -> Any:
        return duroxide.parse_result(
            await ctx.all([ctx.schedule_activity("Wait", i) for i in range(n)]))

    runtime.start()
    threads_before = threading.active_count()
    started = time.monotonic()
    client.start_orchestration("fan-1", "Fan", 100)
    result = wait_done(client, "fan-1", 30000)
    elapsed = time.monotonic() - started
    assert result.status == "Completed", result.error
    assert result.output == list(range(100))
    # 100 x 0.3 s on 2 slots would take 15 s if each held a slot while awaiting
    assert elapsed < 6, elapsed
    assert live["peak"] >= 50, live
    assert threading.active_count() <= threads_before + 2  # the loop thread, not one per call


def test_errors_retries_and_context(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()
    attempts: Dict[str, int] = {}

    @runtime.register_activity("Flaky")
    async def flaky(ctx: Any, key: str) -> Any:
        attempts[key] = attempts.get(key, 0) + 1
        await asyncio.sleep(0)
        if attempts[key] < 3:
            raise ConnectionError(f"try {attempts[key]}")
        return {"key": key, "instance": ctx.instance_id, "tries": attempts[key]}

    @runtime.register_activity("Broken")
    async def broken(ctx: Any, _: Any) -> Any:
        await asyncio.sleep(0.01)
        raise ValueError("bad input")

    @runtime.register_activity("Unserializable")
    async def unserializable(ctx: Any, _: Any) -> Any:
        return object()

    @runtime.register_orchestration("Uses")
    async def uses(ctx: Any, _: Any) -> Any:
        ok = await ctx.schedule_activity_with_retry(
            "Flaky", "a", {"max_attempts": 3, "backoff_strategy": "none"})
        errors = []
        for name in ("Broken", "Unserializable"):
            try:
                await ctx.schedule_activity(name, None)
            except duroxide.ActivityFailedError as exc:
                errors.append(str(exc))
        return {"ok": ok, "errors": errors}

    runtime.start()
    client.start_orchestration("uses-1", "Uses", None)
    result = wait_done(client, "uses-1")
    assert result.status == "Completed", result.error
    assert result.output["ok"] == {"key": "a", "instance": "uses-1", "tries": 3}
    assert "ValueError: bad input" in result.output["errors"][0]
    assert "not JSON-serializable" in result.output["errors"][1]


def test_lost_race_and_timeout_cancel_the_task(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()
    cancelled: List[str] = []

    @runtime.register_activity("Slow")
    async def slow(ctx: Any, tag: str) -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(tag)
            raise
        return tag

    @runtime.register_orchestration("Racer")
    async def racer(ctx: Any, _: Any) -> Any:
        winner = await ctx.race(ctx.schedule_activity("Slow", "race"), ctx.schedule_timer(100))
        try:
            await ctx.schedule_activity_with_retry("Slow", "timeout",
                                                   {"max_attempts": 1, "timeout_ms": 200})
            timed_out = False
        except duroxide.ActivityFailedError:
            timed_out = True
        return [winner["index"], timed_out]

    runtime.start()
    client.start_orchestration("race-1", "Racer", None)
    result = wait_done(client, "race-1")
    assert result.status == "Completed", result.error
    assert result.output == [1, True]
    assert wait_until(lambda: sorted(cancelled) == ["race", "timeout"], timeout_s=5), cancelled


def test_concurrency_bound(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime(fast_options(async_activity_concurrency=5, worker_concurrency=2))
    live = {"now": 0, "peak": 0}

    @runtime.register_activity("Wait")
    async def wait(ctx: Any, i: int) -> int:
        live["now"] += 1
        live["peak"] = max(live["peak"], live["now"])
        await asyncio.sleep(0.05)
        live["now"] -= 1
        return i

    @runtime.register_orchestration("Fan")
    async def fan(ctx: Any, n: int) -> Any:
        return len(await ctx.all([ctx.schedule_activity("Wait", i) for i in range(n)]))

    runtime.start()
    client.start_orchestration("bound-1", "Fan", 40)
    assert wait_done(client, "bound-1").output == 40
    assert live["peak"] == 5, live


def test_a_blocking_coroutine_is_reported(env: Any, caplog: pytest.LogCaptureFixture) -> None:
    _, client, make_runtime = env
    runtime = make_runtime(fast_options(async_loop_stall_ms=200))

    @runtime.register_activity("Blocker")
    async def blocker(ctx: Any, _: Any) -> str:
        time.sleep(0.6)  # blocks the loop: what the report is for
        return "done"

    @runtime.register_orchestration("Blocks")
    async def blocks(ctx: Any, _: Any) -> Any:
        return await ctx.schedule_activity("Blocker", None)

    runtime.start()
    with caplog.at_level(logging.WARNING, logger="duroxide.activity"):
        client.start_orchestration("block-1", "Blocks", None)
        assert wait_done(client, "block-1").output == "done"
        assert wait_until(lambda: any("stalled" in r.getMessage() for r in caplog.records))
    record = next(r for r in caplog.records if "stalled" in r.getMessage())
    assert record.name == "duroxide.activity" and "'Blocker'" in record.getMessage()
    assert record.stall_ms >= 400  # type: ignore[attr-defined]


def test_graceful_shutdown_waits_for_async_activities(env: Any) -> None:
    _, client, make_runtime = env
    began = threading.Event()
    runs: List[int] = []

    def register(runtime: Any) -> None:
        @runtime.register_activity("Slowish")
        async def slowish(ctx: Any, _: Any) -> str:
            runs.append(1)
            began.set()
            await asyncio.sleep(0.5)
            return "finished"

        @runtime.register_orchestration("One")
        async def one(ctx: Any, _: Any) -> Any:
            return await ctx.schedule_activity("Slowish", None)

    first = make_runtime()
    register(first)
    first.start()
    client.start_orchestration("one-1", "One", None)
    assert began.wait(10)
    first.shutdown(5000)  # the activity finishes and its result is acknowledged meanwhile
    assert client.get_status("one-1").status == "Running"
    second = make_runtime()
    register(second)
    second.start()
    assert wait_done(client, "one-1").output == "finished"
    assert len(runs) == 1  # not handed back and run again


def test_sigkill_with_200_in_flight_completes_each_once(tmp_path: Path) -> None:
    db_path = tmp_path / "async-crash.db"
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    provider = duroxide.SqliteProvider.open(str(db_path))
    client = duroxide.Client(provider)
    n = async_crash_worker.FANOUT
    client.start_orchestration("fan", "FanOut", n)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(duroxide.__file__).resolve().parent.parent),
                    env.get("PYTHONPATH", "")) if p)
    child = subprocess.Popen(
        [sys.executable, str(Path(async_crash_worker.__file__)), str(db_path), str(marker_dir)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"started"
        # every activity is in flight at once on the child's loop (2 worker slots)
        assert wait_until(lambda: len(os.listdir(marker_dir)) >= n, timeout_s=30), \
            len(os.listdir(marker_dir))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert client.get_status("fan").status == "Running"

    runtime = duroxide.Runtime(provider, async_crash_worker.options())
    async_crash_worker.register(runtime, str(marker_dir), delay_s=0.05)
    runtime.start()
    try:
        result = client.wait_for_orchestration("fan", 60000)
        assert result.status == "Completed", result.error
        assert result.output == sum(i * 2 for i in range(n))
    finally:
        runtime.shutdown(3000)
    history = client.read_execution_history("fan", 1)
    scheduled = [e.event_id for e in history if e.kind == "ActivityScheduled"]
    completed = [e.source_event_id for e in history if e.kind == "ActivityCompleted"]
    assert len(scheduled) == n
    assert sorted(completed) == sorted(scheduled)  # each exactly once
