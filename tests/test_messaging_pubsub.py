"""Durable publish/subscribe (docs/messaging.md): subscription start point, order, exactly
once, unsubscribe, continue-as-new, end of the subscriber, topic listing. Every test runs on
in-memory SQLite, file SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any, List

import pytest

import duroxide
from helpers.util import wait_done, wait_until


def _register_listener(runtime: Any) -> None:
    @runtime.register_orchestration("Listener")
    def listener(ctx: Any, n: int) -> Any:
        ctx.subscribe("news")
        ctx.set_custom_status("subscribed")
        got = []
        for _ in range(n):
            msg = yield ctx.receive_message("news")
            got.append([msg.data, msg.topic, msg.sender])
        return got


def _wait_subscribed(client: Any, instance_id: str, topic: str = "news") -> None:
    def subscribed() -> bool:
        try:
            return any(s.instance_id == instance_id for s in client.get_topic(topic).subscribers)
        except duroxide.NotFoundError:
            return False
    assert wait_until(subscribed)


def test_subscribers_get_events_after_subscription_in_order(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()
    _register_listener(runtime)

    @runtime.register_orchestration("Publisher")
    def publisher(ctx: Any, n: int) -> Any:
        for i in range(n):
            ctx.publish_event("news", {"i": i})
        yield ctx.schedule_timer(1)
        return n

    runtime.start()
    client.publish_event("news", "before anyone listened")  # not delivered to later subscribers
    client.start_orchestration("l1", "Listener", 6)
    client.start_orchestration("l2", "Listener", 6)
    _wait_subscribed(client, "l1")
    _wait_subscribed(client, "l2")
    client.start_orchestration("pub", "Publisher", 5)
    assert wait_done(client, "pub").output == 5
    client.publish_event("news", "from client")
    for instance in ("l1", "l2"):
        result = wait_done(client, instance)
        assert result.status == "Completed", result.error
        assert result.output == [[{"i": i}, "news", "pub"] for i in range(5)] + [
            ["from client", "news", None]]
    # Ended instances lose their subscriptions; the topic is listed.
    assert wait_until(lambda: client.get_topic("news").subscribers == [])
    topics = {t.topic: t for t in client.list_topics()}
    assert topics["news"].subscribers == 0 and topics["news"].last_seq == 7


def test_unsubscribe_and_continue_as_new(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Flaky")
    def flaky(ctx: Any, state: Any) -> Any:
        seen: List[Any] = list(state or [])
        if not seen:
            ctx.subscribe("a")
            ctx.subscribe("b")
            ctx.set_custom_status("ready")
        msg = yield ctx.receive_message("a")
        seen.append(msg.data)
        if len(seen) == 2:
            ctx.unsubscribe("b")
            ctx.set_custom_status("unsubscribed")
        if len(seen) < 4:
            yield ctx.continue_as_new(seen)  # the subscription to "a" survives
        return seen

    runtime.start()
    client.start_orchestration("flaky", "Flaky", None)
    _wait_subscribed(client, "flaky", "a")
    client.publish_event("a", 0)
    client.publish_event("a", 1)
    if not wait_until(lambda: client.get_topic("b").subscribers == [], timeout_s=3):
        for e in client.list_executions("flaky"):
            for ev in client.read_execution_history("flaky", e):
                print("DBG", e, ev.kind, ev.data)
        print("DBG", client.get_status("flaky").status, client.get_status("flaky").error)
        raise AssertionError("still subscribed")
    client.publish_event("b", "not delivered")
    client.publish_event("a", 2)
    client.publish_event("a", 3)
    result = wait_done(client, "flaky")
    assert result.status == "Completed", result.error
    assert result.output == [0, 1, 2, 3]


def test_fan_out_and_concurrent_publishers_exactly_once(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()
    _register_listener(runtime)
    runtime.start()
    per_thread, threads_n, listeners = 10, 3, 5
    total = per_thread * threads_n
    for i in range(listeners):
        client.start_orchestration(f"fan-{i}", "Listener", total)
    for i in range(listeners):
        _wait_subscribed(client, f"fan-{i}")

    def publish(t: int) -> None:
        for k in range(per_thread):
            client.publish_event("news", [t, k])

    threads = [threading.Thread(target=publish, args=(t,)) for t in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    orders = []
    for i in range(listeners):
        result = wait_done(client, f"fan-{i}")
        assert result.status == "Completed", result.error
        data = [row[0] for row in result.output]
        assert sorted(map(tuple, data)) == sorted((t, k) for t in range(threads_n)
                                                  for k in range(per_thread))
        for t in range(threads_n):  # each publisher's events in its publish order
            assert [k for (tt, k) in data if tt == t] == list(range(per_thread))
        orders.append(data)
    assert all(o == orders[0] for o in orders)  # one publication order for everyone


def test_topic_errors(env: Any) -> None:
    _, client, _ = env
    with pytest.raises(duroxide.NotFoundError):
        client.get_topic("never-used")
    with pytest.raises(duroxide.InvalidArgumentError):
        client.publish_event("", 1)
