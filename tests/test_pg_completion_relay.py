"""The completion relay on PostgreSQL (runtime/completion_relay.h, docs/performance.md round 3).

A worker slot hands its activity acknowledgements to an orchestration dispatcher, whose next
store call (turn acks + fetch) commits them. These tests hold relayed acknowledgements with
the DUROXIDE_TEST_RELAY_HOLD_MS hook (read when a runtime starts) to crash the process, or to
cancel the activity, between the activity's end and the commit of its completion.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duroxide
import pytest
from duroxide import Client, Runtime, RuntimeOptions
from helpers.relay_record import register_record
from helpers.util import wait_done, wait_until

pytestmark = pytest.mark.skipif(
    getattr(duroxide, "PostgresProvider", None) is None,
    reason="this build of duroxide has no PostgreSQL provider (DUROXIDE_WITH_POSTGRES=OFF)")

FAST = dict(dispatcher_poll_interval_ms=20, worker_lock_timeout_ms=1500)

CHILD = textwrap.dedent("""
    import sys, time
    import duroxide
    from duroxide import Runtime, RuntimeOptions
    url, schema, ledger, tests_dir = sys.argv[1:5]
    sys.path.insert(0, tests_dir)
    from helpers.relay_record import register_record
    provider = duroxide.PostgresProvider.connect_with_schema(url, schema)
    rt = Runtime(provider, RuntimeOptions(dispatcher_poll_interval_ms=20,
                                          worker_lock_timeout_ms=1500))
    register_record(rt, ledger)
    rt.start()
    time.sleep(120)  # killed by the test
""")



def _completed_events(client: Client, instance: str) -> int:
    kinds = [e.kind for e in client.read_execution_history(instance, 1)]
    return kinds.count("ActivityCompleted")


def test_hellos_complete_with_one_completion_each(pg_url, pg_schema):
    provider = duroxide.PostgresProvider.connect_with_schema(pg_url, pg_schema)
    client = Client(provider)
    rt = Runtime(provider, RuntimeOptions(**FAST))

    @rt.register_activity("Hello")
    def hello(ctx, name):
        return f"Hello, {name}!"

    @rt.register_orchestration("Hellos")
    def hellos(ctx, name):
        a = yield ctx.schedule_activity("Hello", name)
        b = yield ctx.schedule_activity("Hello", a)
        return b

    rt.start()
    try:
        for k in range(20):
            client.start_orchestration(f"h-{k}", "Hellos", str(k))
        for k in range(20):
            result = wait_done(client, f"h-{k}")
            assert result.status == "Completed", result.error
            assert result.output == f"Hello, Hello, {k}!!"
            assert _completed_events(client, f"h-{k}") == 2
    finally:
        rt.shutdown(3000)


def test_crash_between_activity_end_and_turn_commit(pg_url, pg_schema, tmp_path: Path):
    ledger = tmp_path / "ledger.txt"
    provider = duroxide.PostgresProvider.connect_with_schema(pg_url, pg_schema)
    client = Client(provider)
    env = dict(os.environ, DUROXIDE_TEST_RELAY_HOLD_MS="60000")
    child = subprocess.Popen([sys.executable, "-c", CHILD, pg_url, pg_schema, str(ledger),
                              str(Path(__file__).parent)], env=env)
    try:
        client.start_orchestration("crash-1", "RecordOnce", 4)
        assert wait_until(lambda: ledger.exists() and ledger.read_text().count("ran") == 1,
                          timeout_s=30)
        time.sleep(0.2)  # the completion waits in the relay, held by the hook
        assert child.poll() is None
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    # Nothing of the completion was committed: no message, no history event.
    assert client.get_status("crash-1").status == "Running"
    assert _completed_events(client, "crash-1") == 0
    rt = Runtime(provider, RuntimeOptions(**FAST))
    register_record(rt, str(ledger))
    rt.start()
    try:
        result = wait_done(client, "crash-1", 30000)
        assert (result.status, result.output) == ("Completed", 40)
        assert ledger.read_text().count("ran") == 2  # the lease expired: it ran again
        assert _completed_events(client, "crash-1") == 1
    finally:
        rt.shutdown(3000)


def test_cancelled_activity_whose_completion_is_pending(pg_url, pg_schema, monkeypatch):
    monkeypatch.setenv("DUROXIDE_TEST_RELAY_HOLD_MS", "1200")
    provider = duroxide.PostgresProvider.connect_with_schema(pg_url, pg_schema)
    client = Client(provider)
    rt = Runtime(provider, RuntimeOptions(**FAST))
    ran = []

    @rt.register_activity("Quick")
    def quick(ctx, _):
        ran.append(time.monotonic())
        return "quick"

    @rt.register_orchestration("Race")
    def race(ctx, _):
        # The activity ends at once, but its completion is held for 1.2 s: the timer wins and
        # the turn cancels the activity (its worker row is deleted) while the ack is pending.
        winner = yield ctx.race([ctx.schedule_activity("Quick", None), ctx.schedule_timer(200)])
        return winner

    rt.start()
    try:
        client.start_orchestration("race-1", "Race", None)
        result = wait_done(client, "race-1", 30000)
        assert result.status == "Completed", result.error
        assert result.output == {"index": 1, "value": None}
        assert len(ran) == 1
        # The held ack is made after the cancellation, fails its lease check and queues nothing.
        time.sleep(1.5)
        assert _completed_events(client, "race-1") == 0
        assert client.get_status("race-1").status == "Completed"
        depths = client.get_queue_depths()
        assert (depths.orchestrator_queue, depths.worker_queue) == (0, 0)
    finally:
        rt.shutdown(3000)


def test_an_activity_under_a_limit_is_acknowledged_by_its_worker(pg_url, pg_schema, monkeypatch):
    """Relayed acks are held for 60 s here; an activity under a named limit is not relayed (its
    worker's own ack frees the slot in the call that fetches the next one), so two limited
    activities in a row finish at once, while an unlimited one waits for the hold."""
    monkeypatch.setenv("DUROXIDE_TEST_RELAY_HOLD_MS", "60000")
    provider = duroxide.PostgresProvider.connect_with_schema(pg_url, pg_schema)
    client = Client(provider)
    client.set_limit("one", duroxide.Limit(concurrency=1))
    rt = Runtime(provider, RuntimeOptions(**FAST))

    @rt.register_activity("Step")
    def step(ctx, n):
        return n + 1

    @rt.register_orchestration("Limited")
    def limited(ctx, n):
        a = yield ctx.schedule_activity("Step", n, limit="one")
        return (yield ctx.schedule_activity("Step", a, limit="one"))

    @rt.register_orchestration("Unlimited")
    def unlimited(ctx, n):
        return (yield ctx.schedule_activity("Step", n))

    rt.start()
    try:
        client.start_orchestration("limited-1", "Limited", 1)
        client.start_orchestration("unlimited-1", "Unlimited", 1)
        result = wait_done(client, "limited-1", 10000)
        assert (result.status, result.output) == ("Completed", 3)
        assert _completed_events(client, "limited-1") == 2
        # The control: its ack is held in the relay, so it has not completed.
        assert client.get_status("unlimited-1").status == "Running"
    finally:
        rt.shutdown(3000)
