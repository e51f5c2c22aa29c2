"""A dispatcher count that follows the work (runtime/dispatcher_pool.h, docs/user-guide.md).

orchestration_concurrency and worker_concurrency are maxima: two dispatchers per side run at
first (fewer if the maximum is lower), more run while the work needs them, and they retire
when idle, back to two. What must hold, seen
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

    @runtime.register_orchestration("Fan")
    def fan(ctx, n):
        results = yield ctx.all([ctx.schedule_activity("Echo", i) for i in range(n)])
        return results

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
    # Never more running than configured: running = 2 + added - retired <= 4 at every read.
    for side in ("orch", "worker"):
        running = 2 + grown[f"{side}_dispatchers_added"] - grown[f"{side}_dispatchers_retired"]
        assert 2 <= running <= 4, grown

    # Idle: back to two running dispatchers per side.
    def back_to_one():
        d = _dispatchers(runtime)
        return (d["orch_dispatchers_added"] == d["orch_dispatchers_retired"]
                and d["worker_dispatchers_added"] == d["worker_dispatchers_retired"])

    assert _wait_for(back_to_one, 20), _dispatchers(runtime)

    # And up again for the next backlog: one turn schedules 200 activities at once, which
    # keeps both running worker slots busy.
    before = _dispatchers(runtime)
    client.start_orchestration("fan", "Fan", 200)
    r = client.wait_for_orchestration("fan", 60000)
    assert r.status == "Completed" and [x["ok"] for x in r.output] == list(range(200))
    after = _dispatchers(runtime)
    assert after["worker_dispatchers_added"] > before["worker_dispatchers_added"], (before, after)


def test_slow_activities_do_not_hold_up_the_others(env):
    # Two slots run at first; when both are busy in slow activities a third wakes, so fast
    # work scheduled after them completes while they still run.
    provider, client, make_runtime = env
    log = []
    release = threading.Event()
    runtime = make_runtime(worker_concurrency=3)
    _register(runtime, log, release)
    runtime.start()
    client.start_orchestration("slow-1", "SlowOne", 1)
    client.start_orchestration("slow-2", "SlowOne", 2)
    assert _wait_for(lambda: runtime.metrics_snapshot()["worker_dispatchers_added"] >= 1, 10)
    for i in range(5):
        client.start_orchestration(f"fast-{i}", "Hello", i)
    for i in range(5):
        assert client.wait_for_orchestration(f"fast-{i}", 20000).status == "Completed"
    # The slow activities are still blocked: the fast ones did not wait for their slots.
    assert client.get_status("slow-1").status == "Running"
    assert client.get_status("slow-2").status == "Running"
    release.set()
    for name in ("slow-1", "slow-2"):
        assert client.wait_for_orchestration(name, 20000).status == "Completed"


def test_one_hello_at_a_time_runs_two_dispatchers_per_side(env):
    provider, client, make_runtime = env
    log = []
    runtime = make_runtime(orchestration_concurrency=8, worker_concurrency=8)
    _register(runtime, log)
    runtime.start()
    # One hello at a time: a fetch never comes back full, so the two orchestration dispatchers
    # that always run stay two; a worker slot may still be ending its batch (its
    # acknowledgement is already visible) when the next activity starts on the other one, so
    # at most one spare is added.
    for i in range(10):
        client.start_orchestration(f"h-{i}", "Hello", i)
        assert client.wait_for_orchestration(f"h-{i}", 20000).status == "Completed"
    d = _dispatchers(runtime)
    assert d["orch_dispatchers_added"] == 0, d
    assert 2 + d["worker_dispatchers_added"] - d["worker_dispatchers_retired"] <= 3, d
