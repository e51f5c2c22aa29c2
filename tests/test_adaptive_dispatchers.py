"""A dispatcher count that follows the work (runtime/dispatcher_pool.h, docs/user-guide.md).

orchestration_concurrency and worker_concurrency are maxima: one dispatcher per side runs at
first, more run while the work needs them, and they retire when idle. What must hold, seen
through the runtime's counters (never through timing): a backlog adds dispatchers, an idle
runtime retires them back to one per side, a slow activity never leaves other work without a
free slot, and every instance still completes exactly once.
"""

from __future__ import annotations

import threading
import time

KEYS = ("orch_dispatchers_added", "orch_dispatchers_retired", "worker_dispatchers_added",
        "worker_dispatchers_retired")


def _register(runtime, log, release=None):
    lock = threading.Lock()

    @runtime.register_activity("Echo")
    def echo(ctx, x):
        with lock:
            log.append(x)
        return x

    @runtime.register_activity("Slow")
    def slow(ctx, x):
        assert release is not None and release.wait(30)
        return x

    @runtime.register_orchestration("Hello")
    def hello(ctx, x):
        r = yield ctx.schedule_activity("Echo", x)
        return r

    @runtime.register_orchestration("SlowOne")
    def slow_one(ctx, x):
        r = yield ctx.schedule_activity("Slow", x)
        return r


def _dispatchers(runtime):
    snap = runtime.metrics_snapshot()
    return {k: snap[k] for k in KEYS}


def _wait_for(predicate, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_backlog_adds_dispatchers_and_idle_retires_them(env):
    provider, client, make_runtime = env
    log = []
    runtime = make_runtime(orchestration_concurrency=4, worker_concurrency=4)
    _register(runtime, log)
    n = 300
    # The backlog is in the store before the runtime starts: the first fetches come back full.
    for i in range(n):
        client.start_orchestration(f"b-{i}", "Hello", i)
    runtime.start()
    for i in range(n):
        r = client.wait_for_orchestration(f"b-{i}", 60000)
        assert r.status == "Completed" and r.output == i
    assert sorted(log) == list(range(n))  # each activity ran once
    grown = _dispatchers(runtime)
    assert grown["orch_dispatchers_added"] >= 1, grown
    assert grown["worker_dispatchers_added"] >= 1, grown
    # Never more running than configured: running = 1 + added - retired <= 4 at every read.
    for side in ("orch", "worker"):
        running = 1 + grown[f"{side}_dispatchers_added"] - grown[f"{side}_dispatchers_retired"]
        assert 1 <= running <= 4, grown

    # Idle: back to one running dispatcher per side.
    def back_to_one():
        d = _dispatchers(runtime)
        return (d["orch_dispatchers_added"] == d["orch_dispatchers_retired"]
                and d["worker_dispatchers_added"] == d["worker_dispatchers_retired"])

    assert _wait_for(back_to_one, 20), _dispatchers(runtime)

    # And up again for the next backlog.
    before = _dispatchers(runtime)
    for i in range(n, 2 * n):
        client.start_orchestration(f"b-{i}", "Hello", i)
    for i in range(n, 2 * n):
        assert client.wait_for_orchestration(f"b-{i}", 60000).status == "Completed"
    after = _dispatchers(runtime)
    assert after["orch_dispatchers_added"] + after["worker_dispatchers_added"] > (
        before["orch_dispatchers_added"] + before["worker_dispatchers_added"]), (before, after)


def test_a_slow_activity_does_not_hold_up_the_others(env):
    # One slot runs at first; a slot busy in a slow activity wakes another, so fast work
    # scheduled after it completes while the slow one still runs.
    provider, client, make_runtime = env
    log = []
    release = threading.Event()
    runtime = make_runtime(worker_concurrency=2)
    _register(runtime, log, release)
    runtime.start()
    client.start_orchestration("slow", "SlowOne", 1)
    assert _wait_for(lambda: runtime.metrics_snapshot()["worker_dispatchers_added"] >= 1, 10)
    for i in range(5):
        client.start_orchestration(f"fast-{i}", "Hello", i)
    for i in range(5):
        assert client.wait_for_orchestration(f"fast-{i}", 20000).status == "Completed"
    # The slow activity is still blocked: the fast ones did not wait for its slot.
    assert client.get_status("slow").status == "Running"
    release.set()
    assert client.wait_for_orchestration("slow", 20000).status == "Completed"


def test_an_idle_runtime_runs_one_dispatcher_per_side(env):
    provider, client, make_runtime = env
    log = []
    runtime = make_runtime(orchestration_concurrency=8, worker_concurrency=8)
    _register(runtime, log)
    runtime.start()
    # One hello at a time: one orchestration dispatcher is enough, and a worker slot wakes at
    # most one spare while it runs an activity.
    for i in range(10):
        client.start_orchestration(f"h-{i}", "Hello", i)
        assert client.wait_for_orchestration(f"h-{i}", 20000).status == "Completed"
    d = _dispatchers(runtime)
    assert d["orch_dispatchers_added"] == 0, d
    assert 1 + d["worker_dispatchers_added"] - d["worker_dispatchers_retired"] <= 2, d
