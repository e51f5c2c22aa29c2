"""How the schedule firing loop learns of work (docs/schedules.md, "How the loop learns of a
change"): it sleeps until the next due time or a change instead of re-reading the schedules
table every dispatcher poll interval. Checked through the loop's pass counter
(metrics_snapshot()["schedule_passes"]), not through timing; the fallback poll is set far
beyond the test's waits, so a prompt firing can only come from the wake-up."""

from __future__ import annotations

import time
from typing import Any, Iterator

import duroxide
import pytest
from duroxide import Client, RuntimeOptions, SqliteProvider
from helpers.util import wait_until
from test_schedules import registry  # the same "Tick" orchestration

FALLBACK_MS = 600_000  # never reached in these tests


def passes(rt: duroxide.Runtime) -> int:
    snap = rt.metrics_snapshot()
    assert snap is not None
    return int(snap["schedule_passes"])


def completed(client: Client, instance: str) -> bool:
    status = client.get_status(instance)
    return status is not None and status.status == "Completed"


@pytest.fixture
def sqlite_runtime() -> Iterator[Any]:
    provider = SqliteProvider.in_memory()
    rt = duroxide.Runtime(provider, RuntimeOptions(schedule_poll_interval_ms=FALLBACK_MS),
                          registry())
    rt.start()
    try:
        yield provider, rt
    finally:
        rt.shutdown(1000)


def test_idle_runtime_without_schedules_does_not_reread_the_table(sqlite_runtime: Any) -> None:
    provider, rt = sqlite_runtime
    assert wait_until(lambda: passes(rt) >= 1, 10)  # the pass at start
    time.sleep(0.5)  # 50 dispatcher poll intervals: the old loop read the table 50 times here
    assert passes(rt) == 1
    # A change through the same store wakes the loop at once (the fallback is 10 minutes).
    # Slightly ahead: an occurrence already past when the schedule is created is not run.
    start_at = int(duroxide._core.now_ms()) + 300
    Client(provider).create_schedule("s", "Tick", {"n": 1}, every_ms=3_600_000,
                                     start_at_ms=start_at)
    assert wait_until(lambda: completed(Client(provider), f"s@{start_at}"), 10)
    # The next occurrence is an hour away: the loop sleeps until then.
    settled = passes(rt)
    time.sleep(0.3)
    assert passes(rt) == settled <= 4


def test_default_fallback_is_documented_and_validated() -> None:
    assert RuntimeOptions().schedule_poll_interval_ms == 2000
    with pytest.raises(duroxide.errors.InvalidArgumentError, match="schedule_poll_interval_ms"):
        RuntimeOptions(schedule_poll_interval_ms=0)


def test_schedule_created_by_another_process_fires_through_the_notification(
        pg_url: str, pg_schema: str) -> None:
    """On PostgreSQL a schedule created through another provider (another connection pool and
    origin, as another process has) wakes the idle runtime through LISTEN/NOTIFY."""
    ours = duroxide.PostgresProvider.connect_with_schema(pg_url, pg_schema)
    theirs = duroxide.PostgresProvider.connect_with_schema(pg_url, pg_schema)
    rt = duroxide.Runtime(ours, RuntimeOptions(schedule_poll_interval_ms=FALLBACK_MS),
                          registry())
    rt.start()
    try:
        # The loop's pass at start, and one more when the listener has connected (it wakes
        # the loop because notifications sent before it listened are lost); then it sleeps.
        assert wait_until(lambda: passes(rt) >= 1, 10)
        time.sleep(1.0)
        before = passes(rt)
        time.sleep(0.3)
        assert passes(rt) == before <= 2
        client = Client(theirs)
        # Slightly ahead: an occurrence already past when the schedule is created is not run.
        start_at = int(duroxide._core.now_ms()) + 300
        client.create_schedule("remote", "Tick", {"n": 2}, every_ms=3_600_000,
                               start_at_ms=start_at)
        assert wait_until(lambda: completed(client, f"remote@{start_at}"), 15)
        assert client.get_schedule("remote").fired_count == 1
        # Paused by the other process: the loop is told, reads once, and sleeps again.
        seen = passes(rt)
        client.pause_schedule("remote")
        assert wait_until(lambda: passes(rt) > seen, 10)
    finally:
        rt.shutdown(1000)
        theirs.close()
        ours.close()
