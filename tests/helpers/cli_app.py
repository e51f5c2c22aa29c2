"""The Registry behind tests/test_cli_url.py (also named by `duroxide replay
helpers.cli_app:registry`): one orchestration or actor per kind of CLI command."""

from __future__ import annotations

import json
from typing import Any, Dict, Generator

import duroxide

registry = duroxide.Registry()
NEEDS_GPU = {"type": "object", "properties": {"gpu": {"const": "h100"}}, "required": ["gpu"]}


@registry.register_orchestration("Order")
def order(ctx: Any, value: Any) -> Generator[Any, Any, Any]:
    ctx.set_custom_status("placing")
    ctx.set_kv_value("customer/ä", json.dumps(value))
    paid = yield ctx.schedule_sub_orchestration_with_id("Echo", ctx.instance_id + "/pay", value)
    ctx.set_custom_status("done")
    return {"paid": paid}


@registry.register_orchestration("Echo")
def echo(ctx: Any, value: Any) -> Any:
    return value


@registry.register_orchestration("Waiter")
def waiter(ctx: Any, _: Any) -> Generator[Any, Any, Any]:
    event = yield ctx.wait_for_event("go")
    queued = yield ctx.dequeue_event("q")
    return [event, queued]


@registry.register_orchestration("Looper")
def looper(ctx: Any, n: int) -> Generator[Any, Any, Any]:
    if n < 2:
        yield ctx.continue_as_new(n + 1)
    return n


@registry.register_orchestration("Doubler")
def doubler(ctx: Any, topic: str) -> Generator[Any, Any, Any]:
    ctx.subscribe(topic)
    for _ in range(20):
        request = yield ctx.receive_request("double")
        ctx.reply(request, request.data * 2)


@registry.register_orchestration("NeedsGpu")
def needs_gpu(ctx: Any, _: Any) -> Generator[Any, Any, Any]:
    yield ctx.schedule_activity("Work", None, requires=NEEDS_GPU)


@registry.register_activity("Work")
def work(ctx: Any, _: Any) -> str:
    return "worked"


counter = registry.register_actor("Counter")


@counter.on_message
def count(ctx: Any, state: Dict[str, Any], msg: Any) -> int:
    state["n"] = state.get("n", 0) + msg.data
    return int(state["n"])


@registry.task(cache={"ttl_s": 600})
def square(x: int) -> int:
    return x * x


@registry.task()
def add(a: int, b: int) -> int:
    return a + b
