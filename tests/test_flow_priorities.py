"""Priorities (issue 25 item 2, docs/flow-control.md): starts and activities are claimed
higher priority first, FIFO within a priority, and a waiting low-priority row ages so that
later high-priority work cannot starve it. Every test runs on every provider of `env`.
"""

from __future__ import annotations

import threading
from typing import Any, List

import duroxide
import pytest
from duroxide import _core
from helpers.util import wait_done

AGING_MS = 5000  # providers/queue_order.h kPriorityAgingMs


def _expected(items: List[Any]) -> List[Any]:
    """(name, priority) in claim order: priority descending, arrival order within one."""
    return [name for name, _ in sorted(items, key=lambda x: -x[1])]


def test_starts_run_highest_priority_first_and_fifo_within_one(env):
    _, client, make_runtime = env
    order: List[str] = []
    lock = threading.Lock()
    runtime = make_runtime(orchestration_concurrency=1)

    @runtime.register_orchestration("Rec")
    def rec(ctx, _):
        with lock:
            order.append(ctx.instance_id)
        return None

    items = [(f"s{i:02d}", (0, 5, 9, 2)[i % 4]) for i in range(16)]
    for name, priority in items:  # queued before any runtime runs
        client.start_orchestration(name, "Rec", None, priority=priority)
    runtime.start()
    for name, _ in items:
        assert wait_done(client, name).status == "Completed"
    assert order == _expected(items)


def test_activities_run_highest_priority_first_and_fifo_within_one(env):
    _, client, make_runtime = env
    order: List[int] = []
    lock = threading.Lock()
    gate = threading.Event()
    priorities = [(0, 3, 9, 3, 0, 9, 7, 1)[i % 8] for i in range(16)]
    runtime = make_runtime(worker_concurrency=1)

    @runtime.register_activity("Note")
    def note(ctx, i):
        if i < 0:  # the blocker: holds the only slot until every other row is queued
            gate.wait(20)
            return i
        with lock:
            order.append(i)
        return i

    @runtime.register_orchestration("Fan")
    def fan(ctx, _):
        blocker = ctx.schedule_activity("Note", -1, priority=9)
        tasks = [ctx.schedule_activity("Note", i, priority=p) for i, p in enumerate(priorities)]
        results = yield ctx.all([blocker, *tasks])
        return results

    runtime.start()
    client.start_orchestration("fan", "Fan")
    gate.set()
    result = wait_done(client, "fan")
    assert result.status == "Completed", result.error
    assert order == _expected(list(enumerate(priorities)))


def test_an_activity_with_retry_takes_a_priority(env):
    _, client, make_runtime = env
    runtime = make_runtime()
    attempts: List[int] = []

    @runtime.register_activity("Flaky")
    def flaky(ctx, _):
        attempts.append(1)
        if len(attempts) < 2:
            raise RuntimeError("again")
        return "ok"

    @runtime.register_orchestration("Retry")
    def retry(ctx, _):
        return (yield ctx.schedule_activity_with_retry(
            "Flaky", None, {"max_attempts": 3, "backoff": "none"}, priority=8))

    runtime.start()
    client.start_orchestration("retry", "Retry")
    assert wait_done(client, "retry").output == "ok"
    assert len(attempts) == 2


def test_a_waiting_low_priority_start_is_not_starved(env):
    """Aging: a priority-0 start that has waited 9 * AGING_MS goes before priority-9 starts
    that arrived after that (the virtual clock stands in for the wait)."""
    _, client, make_runtime = env
    order: List[str] = []
    runtime = make_runtime(orchestration_concurrency=1)

    @runtime.register_orchestration("Rec")
    def rec(ctx, _):
        order.append(ctx.instance_id)
        return None

    start_offset = _core.clock_offset_ms()
    try:
        client.start_orchestration("old-low", "Rec", None, priority=0)
        client.start_orchestration("old-high", "Rec", None, priority=9)
        _core.advance_clock_ms(9 * AGING_MS + 1000)
        for i in range(3):
            client.start_orchestration(f"new-high-{i}", "Rec", None, priority=9)
        client.start_orchestration("new-low", "Rec", None, priority=0)
        runtime.start()
        for name in ("old-low", "new-low", "new-high-2"):
            assert wait_done(client, name).status == "Completed"
    finally:
        _core.reset_clock_offset()
        if start_offset:
            _core.advance_clock_ms(start_offset)
    assert order == ["old-high", "old-low", "new-high-0", "new-high-1", "new-high-2",
                     "new-low"]


@pytest.mark.parametrize("bad", [-1, 10, 99])
def test_a_priority_outside_0_to_9_is_refused_before_anything_is_written(env, bad):
    _, client, _ = env
    with pytest.raises(duroxide.InvalidArgumentError, match="priority"):
        client.start_orchestration("bad", "Rec", None, priority=bad)
    with pytest.raises(duroxide.InvalidArgumentError, match="priority"):
        client.start_orchestration_versioned("bad", "Rec", None, "1.0.0", priority=bad)
    with pytest.raises(duroxide.InvalidArgumentError, match="priority"):
        client._native.start_orchestration("bad", "Rec", "null", None, "fail", priority=bad)
    assert client.get_status("bad").status == "NotFound"


@pytest.mark.parametrize("bad", ["5", 1.5, True, None])
def test_a_priority_of_the_wrong_type_is_refused(env, bad):
    _, client, _ = env
    with pytest.raises(TypeError, match="priority"):
        client.start_orchestration("bad", "Rec", None, priority=bad)
    assert client.get_status("bad").status == "NotFound"


def test_an_activity_priority_outside_0_to_9_fails_the_orchestration_naming_it(env):
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("A")
    def a(ctx, _):
        return 1

    @runtime.register_orchestration("BadPriority")
    def bad_priority(ctx, _):
        return (yield ctx.schedule_activity("A", None, priority=12))

    runtime.start()
    client.start_orchestration("bad-act", "BadPriority")
    result = wait_done(client, "bad-act")
    assert result.status == "Failed"
    assert "priority" in result.error
