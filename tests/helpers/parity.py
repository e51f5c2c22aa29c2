"""The shared stack of the ClientAPI parity suite (tests/test_client_parity*.py).

One store, one runtime and one real uvicorn server per store and test module; `client` is the
native Client, an HttpClient on that server, or one of their asyncio twins (AsyncClient,
AsyncHttpClient) driven through `helpers.aio_adapter.SyncOverAsync`. Each test names the
ClientAPI operations it exercises (`@covers`); tests/test_client_parity.py checks that every
operation is covered. Ids are deliberately awkward (slashes, dots, %, #, ?, spaces, non-ASCII)
so every operation also proves that any valid id works through the server.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, NamedTuple, Set

import pytest

import duroxide
import pg_cluster
from conftest import fast_options
from duroxide.client.api import ClientAPI
from helpers.aio_adapter import SyncOverAsync
from helpers.live_server import LiveServer
from helpers.util import wait_until

WAIT = 15000
UGLY = "/ä ?#%.."  # appended to the ids of the suite

COVERED: Set[str] = set()


def covers(*names: str) -> Any:
    """Records the ClientAPI operations a test exercises."""
    def mark(fn: Any) -> Any:
        COVERED.update(names)
        return fn
    return mark


# ---- the stack: one store, one runtime, one server per store -----------------------------------

NEEDS_GPU = {"type": "object", "properties": {"gpu": {"const": "h100"}}, "required": ["gpu"]}


def register(rt: duroxide.Runtime) -> Dict[str, Any]:
    def echo(ctx: Any, value: Any) -> Any:
        return value

    def fails(ctx: Any, _: Any) -> Any:
        raise ValueError("boom")

    def waiter(ctx: Any, _: Any) -> Any:
        ctx.set_custom_status("waiting")
        event = yield ctx.wait_for_event("go")
        first = yield ctx.dequeue_event("q")
        second = yield ctx.dequeue_event("q")
        ctx.set_custom_status("done")
        return [event, first, second]

    def kv(ctx: Any, value: Any) -> Any:
        ctx.set_kv_value("k/ä", json.dumps(value))
        yield ctx.wait_for_event("go")
        ctx.set_kv_value("late", "1")
        return value

    def parent(ctx: Any, value: Any) -> Any:
        child = yield ctx.schedule_sub_orchestration_with_id("Echo", ctx.instance_id + "/kid",
                                                             value)
        return child

    def looper(ctx: Any, n: int) -> Any:
        if n < 2:
            yield ctx.continue_as_new(n + 1)
        return n

    def inbox(ctx: Any, topic: str) -> Any:
        ctx.subscribe(topic)
        message = yield ctx.receive_message("inbox")
        event = yield ctx.receive_message(topic)
        request = yield ctx.receive_request("double")
        ctx.reply(request, request.data * 2)
        return [message.data, event.data]

    def needs_gpu(ctx: Any, _: Any) -> Any:
        yield ctx.schedule_activity("Work", None, requires=NEEDS_GPU)

    for name, fn in (("Echo", echo), ("Fails", fails), ("Waiter", waiter), ("Kv", kv),
                     ("Parent", parent), ("Looper", looper), ("Inbox", inbox),
                     ("NeedsGpu", needs_gpu)):
        rt.register_orchestration(name, fn)
    rt.register_orchestration_versioned("Versioned", "1.0.0", lambda ctx, _: "v1")
    rt.register_orchestration_versioned("Versioned", "2.0.0", lambda ctx, _: "v2")
    rt.register_activity("Work", lambda ctx, _: "worked")

    counter = rt.register_actor("Counter")

    @counter.on_message
    def count(ctx: Any, state: Dict[str, Any], msg: Any) -> int:
        state["n"] = state.get("n", 0) + msg.data
        return int(state["n"])

    @rt.task()
    def add(a: int, b: int) -> int:
        return a + b

    @rt.task(cache={"ttl_s": 600})
    def square(x: int) -> int:
        return x * x

    return {"add": add, "square": square}


class Stack(NamedTuple):
    provider: Any
    runtime: duroxide.Runtime
    native: duroxide.Client
    http: duroxide.HttpClient
    server: LiveServer
    tasks: Dict[str, Any]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stack(request: Any, tmp_path_factory: Any) -> Iterator[Stack]:
    schema = None
    if request.param == "sqlite":
        provider = duroxide.SqliteProvider.open(str(tmp_path_factory.mktemp("parity") / "p.db"))
    else:
        url = request.getfixturevalue("pg_url")
        schema = pg_cluster.unique_schema("parity")
        provider = duroxide.PostgresProvider.connect_with_schema(url, schema)
    rt = duroxide.Runtime(provider, fast_options(heartbeat_interval_ms=200))
    tasks = register(rt)
    rt.start()
    server = LiveServer(duroxide.Client(provider), wait_slice_ms=100).start()
    http = duroxide.HttpClient(server.url)
    try:
        yield Stack(provider, rt, duroxide.Client(provider), http, server, tasks)
    finally:
        http.close()
        server.stop()
        rt.shutdown(3000)
        provider.close()
        if schema is not None:
            pg_cluster.drop_schema(request.getfixturevalue("pg_url"), schema)


@pytest.fixture(params=["native", "http", "async-native", "async-http"])
def kind(request: Any) -> str:
    return str(request.param)


def make_client(stack: Stack, kind: str) -> Any:
    if kind == "native":
        return duroxide.Client(stack.provider)
    if kind == "http":
        return duroxide.HttpClient(stack.server.url)
    if kind == "async-native":
        return SyncOverAsync(lambda: duroxide.AsyncClient(stack.provider))
    return SyncOverAsync(lambda: duroxide.AsyncHttpClient(stack.server.url))


@pytest.fixture
def client(stack: Stack, kind: str) -> Iterator[ClientAPI]:
    if kind == "native":
        yield stack.native
    elif kind == "http":
        yield stack.http
    else:
        adapter = make_client(stack, kind)
        try:
            yield adapter
        finally:
            adapter.close()
            adapter.stop()


def uid(kind: str, name: str) -> str:
    return f"{name}/{kind}{UGLY}"


def subscribed(client: ClientAPI, instance_id: str) -> bool:
    """The instance waits for an event (events raised before that are dropped)."""
    def check() -> bool:
        try:
            history = client.read_execution_history(instance_id, 1)
        except duroxide.NotFoundError:
            return False
        return any(e.kind == "ExternalSubscribed" for e in history)
    return wait_until(check, 10)

def subscribed_to_queue(client: ClientAPI, instance_id: str) -> bool:
    """The instance's first turn ran (it exists, and its subscription is in place)."""
    def started() -> bool:
        try:
            return len(client.read_execution_history(instance_id, 1)) > 1
        except duroxide.NotFoundError:
            return False
    return wait_until(started, 10)
