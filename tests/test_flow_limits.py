"""Named limits (issue 25 item 1, docs/flow-control.md): stored in the store, enforced at claim
time. Every test runs on every provider of `env` (in-memory SQLite, file SQLite, PostgreSQL).
The multi-process exactness test is tests/test_flow_limits_fleet.py.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List, Tuple

import duroxide
import pytest
from duroxide import Limit, LimitInfo
from duroxide.errors import InvalidArgumentError, InvalidTypeError, NotFoundError
from helpers.util import wait_done


def poll(fn: Any, timeout: float = 10.0) -> Any:
    """fn() once it returns something truthy (or its last value after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(0.02)


class Overlap:
    """Records enter/exit of activity runs and the most that ran at once (per key)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: Dict[str, int] = {}
        self.peak: Dict[str, int] = {}
        self.order: List[str] = []

    def enter(self, key: str = "") -> None:
        with self.lock:
            self.now[key] = self.now.get(key, 0) + 1
            self.peak[key] = max(self.peak.get(key, 0), self.now[key])

    def exit(self, key: str = "") -> None:
        with self.lock:
            self.now[key] -= 1
            self.order.append(key)


def test_limit_crud_and_info(env):
    _, client, _ = env
    client.set_limit("openai", Limit(concurrency=8))
    client.set_limit("rate", Limit(rate_per_s=20))
    client.set_limit("both", Limit(concurrency=2, rate_per_s=0.5, burst=3, per_key=True))
    info = client.get_limit("openai")
    assert isinstance(info, LimitInfo)
    assert (info.name, info.concurrency, info.rate_per_s, info.burst, info.per_key,
            info.in_flight, info.waiting, info.top_keys) == ("openai", 8, None, None, False,
                                                             0, 0, [])
    assert client.get_limit("rate").burst == 20  # one second of rate
    both = client.get_limit("both")
    assert (both.concurrency, both.rate_per_s, both.burst, both.per_key) == (2, 0.5, 3, True)
    assert [i.name for i in client.list_limits()] == ["both", "openai", "rate"]
    client.set_limit("openai", Limit(concurrency=4))  # replaces
    assert client.get_limit("openai").concurrency == 4
    client.delete_limit("openai")
    with pytest.raises(NotFoundError):
        client.get_limit("openai")
    with pytest.raises(NotFoundError):
        client.delete_limit("openai")


@pytest.mark.parametrize("kwargs, arg", [
    ({}, "concurrency or rate_per_s"),
    ({"concurrency": 0}, "concurrency"),
    ({"concurrency": -3}, "concurrency"),
    ({"concurrency": 1.5}, "concurrency"),
    ({"rate_per_s": 0}, "rate_per_s"),
    ({"rate_per_s": -1.0}, "rate_per_s"),
    ({"rate_per_s": float("inf")}, "rate_per_s"),
    ({"rate_per_s": 5, "burst": 0}, "burst"),
    ({"concurrency": 2, "burst": 4}, "burst"),
])
def test_bad_limits_are_refused_naming_the_argument(kwargs, arg):
    with pytest.raises(InvalidArgumentError, match=arg):
        Limit(**kwargs)


def test_bad_names_and_types_are_refused_before_anything_is_written(env):
    _, client, _ = env
    with pytest.raises(InvalidTypeError, match="concurrency"):
        Limit(concurrency="3")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="per_key"):
        Limit(concurrency=3, per_key=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="name"):
        client.set_limit("", Limit(concurrency=1))
    with pytest.raises(InvalidArgumentError, match="bogus"):
        client.set_limit("x", {"concurrency": 1, "bogus": 1})  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="Limit"):
        client.set_limit("x", 3)  # type: ignore[arg-type]
    assert client.list_limits() == []


def test_concurrency_limit_holds_within_one_runtime(env):
    _, client, make_runtime = env
    seen = Overlap()
    runtime = make_runtime(worker_concurrency=8)
    runtime.limit("three", Limit(concurrency=3))

    @runtime.register_activity("Work", limit="three")
    def work(ctx, i):
        seen.enter()
        time.sleep(0.02)
        seen.exit()
        return i

    @runtime.register_orchestration("Fan")
    def fan(ctx, n):
        results = yield ctx.all([ctx.schedule_activity("Work", i) for i in range(n)])
        return sum(r["ok"] for r in results)

    runtime.start()
    client.start_orchestration("fan", "Fan", 24)
    result = wait_done(client, "fan")
    assert result.status == "Completed", result.error
    assert result.output == sum(range(24))
    assert seen.peak[""] == 3


def test_per_call_limit_and_key_win_over_registration(env):
    _, client, make_runtime = env
    seen = Overlap()
    runtime = make_runtime(worker_concurrency=8)
    client.set_limit("tenant", Limit(concurrency=1, per_key=True))

    @runtime.register_activity("Work", limit="never-defined")
    def work(ctx, key):
        seen.enter(key)
        time.sleep(0.03)
        seen.exit(key)
        return key

    @runtime.register_orchestration("Fan")
    def fan(ctx, _):
        tasks = [ctx.schedule_activity("Work", k, limit="tenant", limit_key=k)
                 for k in ["a", "b", "a", "b", "a", "b"]]
        return [r["ok"] for r in (yield ctx.all(tasks))]

    runtime.start()
    client.start_orchestration("fan", "Fan")
    result = wait_done(client, "fan")
    assert result.status == "Completed", result.error
    assert seen.peak == {"a": 1, "b": 1}
    assert max(seen.now.values()) == 0


def test_a_task_naming_an_undefined_limit_waits_and_is_reported(env):
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Work")
    def work(ctx, x):
        return x

    @runtime.register_orchestration("One")
    def one(ctx, _):
        return (yield ctx.schedule_activity("Work", 7, limit="later", limit_key="k1"))

    runtime.start()
    client.start_orchestration("one", "One")

    def waiting() -> List[Any]:
        return [w for w in client.list_waiting_activities() if w["instance_id"] == "one"]

    rows = poll(waiting)
    assert rows[0]["reason"] == "undefined_limit"
    assert (rows[0]["limit"], rows[0]["limit_key"], rows[0]["name"]) == ("later", "k1", "Work")
    time.sleep(0.3)
    assert client.get_status("one").status == "Running"
    [act] = client.get_pending("one").activities  # the Waiting-on view names the limit
    assert (act["state"], act["limit"]) == ("queued", "later")
    assert act["waits_for"].startswith("limit 'later', key 'k1'"), act
    client.set_limit("later", Limit(concurrency=1))
    result = wait_done(client, "one")
    assert (result.status, result.output) == ("Completed", 7)
    assert waiting() == []


def test_limit_info_counts_in_flight_waiting_and_top_keys(env):
    _, client, make_runtime = env
    gate = threading.Event()
    runtime = make_runtime(worker_concurrency=6)
    client.set_limit("t", Limit(concurrency=2, per_key=True))

    @runtime.register_activity("Hold")
    def hold(ctx, key):
        gate.wait(20)
        return key

    @runtime.register_orchestration("Fan")
    def fan(ctx, keys):
        return (yield ctx.all([ctx.schedule_activity("Hold", k, limit="t", limit_key=k)
                               for k in keys]))

    runtime.start()
    client.start_orchestration("fan", "Fan", ["a"] * 5 + ["b"])
    info = poll(lambda: (lambda i: i if i.in_flight == 3 and i.waiting == 3 else None)(
        client.get_limit("t")))
    assert (info.in_flight, info.waiting) == (3, 3)
    assert info.top_keys == [("a", 2, 3), ("b", 1, 0)]
    waits = [w for w in client.list_waiting_activities() if w["reason"] == "limit"]
    assert len(waits) == 3 and {w["limit_key"] for w in waits} == {"a"}
    gate.set()
    assert wait_done(client, "fan").status == "Completed"
    assert client.get_limit("t").in_flight == 0


def test_rate_limit_spaces_claims(env):
    _, client, make_runtime = env
    starts: List[float] = []
    lock = threading.Lock()
    runtime = make_runtime(worker_concurrency=4)
    client.set_limit("r", Limit(rate_per_s=10, burst=1))

    @runtime.register_activity("Tick")
    def tick(ctx, i):
        with lock:
            starts.append(time.monotonic())
        return i

    @runtime.register_orchestration("Fan")
    def fan(ctx, n):
        return (yield ctx.all([ctx.schedule_activity("Tick", i, limit="r") for i in range(n)]))

    runtime.start()
    client.start_orchestration("fan", "Fan", 11)
    assert wait_done(client, "fan").status == "Completed"
    starts.sort()
    span = starts[-1] - starts[0]
    # 11 claims with one token and 10 tokens/s: the last one no sooner than 1 s after the first.
    assert span >= 0.95, span


def test_limit_and_session_cannot_be_combined(env):
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Bad")
    def bad(ctx, _):
        yield ctx.schedule_activity("X", 1, session_id="s", limit="l")

    runtime.start()
    client.start_orchestration("bad", "Bad")
    result = wait_done(client, "bad")
    assert result.status == "Failed" and "session_id" in (result.error or "")


def test_bad_limit_arguments_of_schedule_activity_fail_the_call(env):
    _, client, make_runtime = env
    runtime = make_runtime()
    errors: List[Tuple[str, str]] = []

    @runtime.register_orchestration("Bad")
    def bad(ctx, _):
        for kwargs in ({"limit": ""}, {"limit": 3}, {"limit_key": "k"},
                       {"limit": "l", "limit_key": 5}):
            try:
                ctx.schedule_activity("X", 1, **kwargs)
            except (InvalidArgumentError, InvalidTypeError) as exc:
                errors.append((type(exc).__name__, str(exc)))
        return len(errors)
        yield  # a generator

    runtime.start()
    client.start_orchestration("bad", "Bad")
    assert wait_done(client, "bad").output == 4
    assert [e[0] for e in errors] == ["InvalidArgumentError", "InvalidTypeError",
                                      "InvalidArgumentError", "InvalidTypeError"]


def test_limit_is_exported():
    assert duroxide.Limit is Limit and duroxide.LimitInfo is LimitInfo


def test_per_key_limit_keeps_a_flooding_tenant_from_starving_another(env):
    """Tenant A floods 1,000 tasks, tenant B sends 10 later: with per_key=True B's tasks all
    finish while most of A's are still queued."""
    _, client, make_runtime = env
    runtime = make_runtime(worker_concurrency=4)
    client.set_limit("tenant", Limit(concurrency=2, per_key=True))

    @runtime.register_activity("Call")
    def call(ctx, tenant):
        time.sleep(0.005)
        return tenant

    @runtime.register_orchestration("Tenant")
    def tenant(ctx, arg):
        key, n = arg
        tasks = [ctx.schedule_activity("Call", key, limit="tenant", limit_key=key)
                 for _ in range(n)]
        return len((yield ctx.all(tasks)))

    runtime.start()
    client.start_orchestration("flood", "Tenant", ["A", 1000])
    assert poll(lambda: client.get_limit("tenant").waiting > 500)
    client.start_orchestration("small", "Tenant", ["B", 10])
    assert wait_done(client, "small").output == 10
    a = client.get_limit("tenant")
    assert a.waiting > 500, a  # most of A is still queued
    assert ("A", 2) in [(k, f) for k, f, _ in a.top_keys]  # A still holds its 2 slots


def test_rate_limit_holds_its_rate_within_tolerance(env):
    """rate_per_s=20 (burst 20): after the burst, starts run at 20/s within 15 %, and no
    window of T seconds holds more than burst + 20 T starts."""
    _, client, make_runtime = env
    starts: List[float] = []
    lock = threading.Lock()
    runtime = make_runtime(worker_concurrency=4, dispatcher_poll_interval_ms=10)
    client.set_limit("r20", Limit(rate_per_s=20))

    @runtime.register_activity("Tick")
    def tick(ctx, i):
        with lock:
            starts.append(time.monotonic())
        return i

    @runtime.register_orchestration("Fan")
    def fan(ctx, n):
        return len((yield ctx.all([ctx.schedule_activity("Tick", i, limit="r20")
                                   for i in range(n)])))

    runtime.start()
    client.start_orchestration("fan", "Fan", 80)
    assert wait_done(client, "fan", timeout_ms=30_000).output == 80
    starts.sort()
    steady = (len(starts) - 21) / (starts[-1] - starts[20])  # after the 20-token burst
    assert 17.0 <= steady <= 23.0, steady
    for i in range(len(starts)):  # every window [starts[i], starts[j]]
        for j in range(i, len(starts)):
            span = starts[j] - starts[i]
            assert j - i + 1 <= 20 + 20 * span + 2, (i, j, span)  # +2: start jitter
