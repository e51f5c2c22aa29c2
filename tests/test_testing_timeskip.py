"""duroxide.testing.TimeSkippingRuntime: durable timers on a virtual clock."""

from __future__ import annotations

import time
from typing import Any, Generator, List

import pytest

import duroxide
from duroxide import Client, Registry, SqliteProvider
from duroxide.testing import (
    TimeSkippingRuntime,
    run_orchestration,
    virtual_now_ms,
    wait_for_history,
)

DAY_MS = 24 * 3600 * 1000


def make_registry() -> Registry:
    reg = Registry()
    attempts: List[int] = []

    @reg.register_activity("Flaky")
    def flaky(ctx: Any, fail_times: int) -> int:
        attempts.append(1)
        if len(attempts) <= fail_times:
            raise RuntimeError(f"attempt {len(attempts)} failed")
        return len(attempts)

    @reg.register_activity("Slow")
    def slow(ctx: Any, ms: int) -> str:
        time.sleep(ms / 1000)
        return "slow done"

    @reg.register_orchestration("Sleeper")
    def sleeper(ctx: Any, days: int) -> Generator[Any, Any, int]:
        t0 = yield ctx.utc_now()
        yield ctx.schedule_timer(days * DAY_MS)
        t1 = yield ctx.utc_now()
        return t1 - t0

    @reg.register_orchestration("Retrying")
    def retrying(ctx: Any, fail_times: int) -> Generator[Any, Any, Any]:
        t0 = yield ctx.utc_now()
        n = yield ctx.schedule_activity_with_retry(
            "Flaky", fail_times, {"max_attempts": 5, "backoff": "fixed"})
        t1 = yield ctx.utc_now()
        return [n, t1 - t0]

    @reg.register_orchestration("Deadline")
    def deadline(ctx: Any, input: Any) -> Generator[Any, Any, Any]:
        winner = yield ctx.race(ctx.wait_for_event("approve"), ctx.schedule_timer(7 * DAY_MS))
        return "approved" if winner["index"] == 0 else "timed out"

    @reg.register_orchestration("Timeout")
    def timeout(ctx: Any, input: Any) -> Generator[Any, Any, Any]:
        try:
            yield ctx.schedule_activity_with_retry(
                "Slow", 3000, {"max_attempts": 1, "timeout_ms": 3600 * 1000})
        except Exception as exc:  # noqa: BLE001
            return f"failed: {exc}"
        return "finished"

    reg.attempts = attempts  # type: ignore[attr-defined]
    return reg


@pytest.fixture
def skipping() -> Any:
    reg = make_registry()
    provider = SqliteProvider.in_memory()
    rt = TimeSkippingRuntime(provider, registry=reg)
    rt.start()
    try:
        yield rt, Client(provider)
    finally:
        rt.shutdown(2000)
    assert duroxide._core.clock_offset_ms() == 0  # back on the wall clock


def test_thirty_day_sleep_completes_in_milliseconds(skipping: Any) -> None:
    rt, client = skipping
    started = time.monotonic()
    before = virtual_now_ms()
    elapsed = run_orchestration(rt, "Sleeper", 30, client=client)
    assert time.monotonic() - started < 5
    assert elapsed >= 30 * DAY_MS  # ctx.utc_now() is virtual time
    assert virtual_now_ms() - before >= 30 * DAY_MS and rt.skipped_ms >= 30 * DAY_MS - 5000


def test_retry_backoff_follows_the_virtual_clock(skipping: Any) -> None:
    rt, client = skipping
    started = time.monotonic()
    n, waited = run_orchestration(rt, "Retrying", 2, client=client)
    # Two fixed 1 s backoffs passed on the virtual clock, faster on the wall clock.
    assert n == 3 and waited >= 2000
    assert time.monotonic() - started < 1.8


def test_manual_advance_with_auto_skip_paused(skipping: Any) -> None:
    rt, client = skipping
    rt.auto_skip = False
    client.start_orchestration("d1", "Deadline", None)
    wait_for_history(client, "d1", ["TimerCreated"])
    time.sleep(0.2)
    assert client.get_status("d1").status == "Running"  # nothing skips the 7-day timer
    rt.advance(days=6)
    time.sleep(0.2)
    assert client.get_status("d1").status == "Running"
    rt.advance(days=1, seconds=1)
    assert client.wait_for_orchestration("d1", 5000).output == "timed out"


def test_event_before_the_deadline_wins_when_paused(skipping: Any) -> None:
    rt, client = skipping
    with rt.paused():
        client.start_orchestration("d2", "Deadline", None)
        wait_for_history(client, "d2", ["ExternalSubscribed(approve)"])
        client.raise_event("d2", "approve", True)
        assert client.wait_for_orchestration("d2", 5000).output == "approved"
    assert rt.auto_skip


def test_per_attempt_timeout_follows_a_manual_advance(skipping: Any) -> None:
    rt, client = skipping
    client.start_orchestration("t1", "Timeout", None)
    time.sleep(0.3)  # the activity runs (real time): the clock does not jump meanwhile
    rt.advance(hours=1, seconds=1)
    result = client.wait_for_orchestration("t1", 10000)
    assert result.output.startswith("failed") and "timeout" in result.output.lower()


def test_fixture_from_the_plugin(duroxide_time_skipping: Any, duroxide_registry: Registry,
                                 duroxide_client: Client) -> None:
    @duroxide_registry.register_orchestration("Nap")
    def nap(ctx: Any, input: Any) -> Generator[Any, Any, str]:
        yield ctx.schedule_timer(365 * DAY_MS)
        return "rested"

    assert run_orchestration(duroxide_time_skipping, "Nap", client=duroxide_client) == "rested"


def test_advance_rejects_going_back(skipping: Any) -> None:
    rt, _ = skipping
    with pytest.raises(ValueError):
        rt.advance(-5)
