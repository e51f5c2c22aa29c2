"""Same-process activity hand-off (RuntimeOptions.activity_handoff, docs/performance.md).

An activity scheduled by a turn that this runtime can run is leased to it in the turn's own
commit and run without a fetch. What must hold: results are the same, the leased rows are
invisible to other runtimes while the lease lives, leases no slot started are handed back at
shutdown (not left to expire), and a crash only delays the work until the lock expires (the
SIGKILL test in test_durability.py runs with hand-off on).
"""

from __future__ import annotations

import threading
import time

from conftest import fast_options


def _register(runtime, log, delay_s=0.0):
    lock = threading.Lock()

    @runtime.register_activity("Work")
    def work(ctx, x):
        time.sleep(delay_s)
        with lock:
            log.append(x)
        return x * 10

    @runtime.register_orchestration("Hello")
    def hello(ctx, x):
        r = yield ctx.schedule_activity("Work", x)
        return r

    @runtime.register_orchestration("Fan")
    def fan(ctx, n):
        results = yield ctx.all([ctx.schedule_activity("Work", i) for i in range(n)])
        return results


def test_activities_are_handed_off_and_run_once(env):
    provider, client, make_runtime = env
    log = []
    runtime = make_runtime()
    _register(runtime, log)
    runtime.start()
    for i in range(30):
        client.start_orchestration(f"h-{i}", "Hello", i)
    for i in range(30):
        r = client.wait_for_orchestration(f"h-{i}", 20000)
        assert r.status == "Completed" and r.output == i * 10
    assert sorted(log) == list(range(30))
    snap = runtime.metrics_snapshot()
    assert snap["activity_handoffs"] >= 1
    assert snap["activity_success"] == 30


def test_handoff_can_be_turned_off(env):
    provider, client, make_runtime = env
    log = []
    runtime = make_runtime(activity_handoff=False)
    _register(runtime, log)
    runtime.start()
    for i in range(10):
        client.start_orchestration(f"h-{i}", "Hello", i)
    for i in range(10):
        assert client.wait_for_orchestration(f"h-{i}", 20000).status == "Completed"
    snap = runtime.metrics_snapshot()
    assert snap["activity_handoffs"] == 0
    assert snap["worker_dispatcher_items_fetched"] == 10


def test_shutdown_leaves_no_activity_behind_a_lock(env):
    """One slow slot and a fan-out of 6, part of it leased to the first runtime: after its
    shutdown another runtime finishes the rest at once. A lease left queued (not handed back)
    or taken for a busy slot would wait for the 60 s lock to expire."""
    provider, client, make_runtime = env
    log = []
    first = make_runtime(worker_concurrency=1, worker_lock_timeout_ms=60000)
    _register(first, log, delay_s=0.3)
    first.start()
    client.start_orchestration("fan", "Fan", 6)
    deadline = time.time() + 10
    while not log and time.time() < deadline:
        time.sleep(0.01)
    assert log, "the first runtime never ran an activity"
    first.shutdown(5000)
    ran_first = len(log)
    assert ran_first < 6

    second = make_runtime(worker_lock_timeout_ms=60000)
    _register(second, log)
    second.start()
    t0 = time.time()
    r = client.wait_for_orchestration("fan", 20000)
    assert r.status == "Completed"
    assert [v["ok"] if isinstance(v, dict) else v for v in r.output] == [i * 10 for i in range(6)]
    assert time.time() - t0 < 15, "leases were left to expire instead of handed back"
    assert sorted(set(log)) == list(range(6))


def test_leased_rows_are_invisible_to_another_runtime(env):
    """A second runtime on the same store never takes an activity the first one leased to
    itself (it would run twice), and, the activities being slow, the first runtime hands its
    surplus leases back so that the second one's free slots share the fan-out."""
    provider, client, make_runtime = env
    log_a, log_b = [], []
    a = make_runtime(worker_concurrency=1, orchestration_concurrency=1)
    _register(a, log_a, delay_s=0.05)
    b = make_runtime(orchestration_concurrency=0, worker_concurrency=2)
    _register(b, log_b)
    a.start()
    b.start()
    client.start_orchestration("fan", "Fan", 8)
    r = client.wait_for_orchestration("fan", 30000)
    assert r.status == "Completed"
    assert a.metrics_snapshot()["activity_handoffs"] >= 1
    assert sorted(log_a + log_b) == list(range(8))  # each ran exactly once
    assert log_b, "the idle runtime got none of the fan-out"


def test_option_is_validated():
    import pytest

    with pytest.raises(TypeError, match="activity_handoff"):
        fast_options(activity_handoff="yes")
