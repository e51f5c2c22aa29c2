"""Durable actors (docs/messaging.md): start on first message, state between messages, one
message at a time in order, requests, generator handlers, events, continue-as-new, addressing
from orchestrations, management listing, bad input."""

from __future__ import annotations

from typing import Any, Dict

import pytest

import duroxide
from duroxide import Registry
from helpers.util import wait_done, wait_until


def _register_counter(runtime: Any, per_execution: int = 100) -> Any:
    counter = runtime.register_actor("Counter", messages_per_execution=per_execution)

    @counter.on_message
    def handle(ctx: Any, state: Dict[str, Any], msg: Any) -> Any:
        state["n"] = state.get("n", 0) + (msg.data or 0)
        state.setdefault("log", []).append(msg.data)
        return state["n"]

    @counter.on_event("ticks")
    def tick(ctx: Any, state: Dict[str, Any], msg: Any) -> None:
        state["ticks"] = state.get("ticks", 0) + 1

    return counter


def test_actor_send_request_state_and_continue_as_new(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()
    _register_counter(runtime, per_execution=3)
    runtime.start()
    ref = client.actor("Counter", "c-1")
    assert ref.state() == {}
    for i in range(1, 6):
        ref.send(i)
    assert ref.request(10, 20000) == 25
    state = ref.state()
    assert state["n"] == 25 and state["log"] == [1, 2, 3, 4, 5, 10]
    actors = client.list_actors()
    assert [(a.actor_type, a.key, a.status) for a in actors] == [("Counter", "c-1", "Running")]
    info = client.get_instance_info(ref.instance_id)
    assert (info.actor_type, info.actor_key) == ("Counter", "c-1")
    # continue-as-new every 3 messages kept the history bounded and the state.
    assert len(client.list_executions(ref.instance_id)) >= 2
    # A second key is a second actor.
    assert client.actor("Counter", "c-2").request(1, 20000) == 1


def test_actor_events_and_orchestration_addressing(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()
    _register_counter(runtime)
    reviewer = runtime.register_actor("Reviewer")

    @reviewer.on_message
    def review(ctx: Any, state: Dict[str, Any], msg: Any) -> Any:
        verdict = yield ctx.schedule_activity("Judge", msg.data)
        count = yield ctx.actor("Counter", "reviews").request(1)
        return {"verdict": verdict, "reviews": count}

    @runtime.register_activity("Judge")
    def judge(ctx: Any, text: Any) -> Any:
        if text == "boom":
            raise ValueError("cannot judge")
        return "ok" if len(text) > 3 else "too short"

    @runtime.register_orchestration("Author")
    def author(ctx: Any, texts: Any) -> Any:
        out = []
        for text in texts:
            try:
                out.append((yield ctx.actor("Reviewer", "r-1").request(text, 20000)))
            except duroxide.RequestFailedError as exc:
                out.append(f"failed: {'cannot judge' in str(exc)}")
        ctx.actor("Counter", "events").send(0)
        return out

    runtime.start()
    client.start_orchestration("author", "Author", ["hello", "hi", "boom"])
    result = wait_done(client, "author")
    assert result.status == "Completed", result.error
    assert result.output == [{"verdict": "ok", "reviews": 1},
                             {"verdict": "too short", "reviews": 2}, "failed: True"]
    events = client.actor("Counter", "events")
    assert wait_until(lambda: events.state().get("log") == [0])
    assert wait_until(lambda: any(s.instance_id == events.instance_id
                                  for s in client.get_topic("ticks").subscribers))
    client.publish_event("ticks", None)
    client.publish_event("ticks", None)
    assert wait_until(lambda: events.state().get("ticks") == 2)


def test_actor_bad_input(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()
    _register_counter(runtime)
    with pytest.raises(duroxide.InvalidArgumentError, match="unknown actor type"):
        client.actor("NoSuchActor", "k")
    with pytest.raises(duroxide.InvalidArgumentError):
        client.actor("Counter", "")
    with pytest.raises(duroxide.InvalidArgumentError):
        runtime.register_actor("")
    with pytest.raises(TypeError):
        client.actor("Counter", "k").send(object())


def test_registry_declares_actors() -> None:
    reg = Registry()
    greeter = reg.register_actor("Greeter")

    @greeter.on_message
    def greet(ctx: Any, state: Dict[str, Any], msg: Any) -> Any:
        return f"hello {msg.data}"

    assert ("__duroxide_actor__:Greeter", "1.0.0") in reg.orchestration_names()


from helpers.styles import add_async_variants  # noqa: E402

add_async_variants(globals())
