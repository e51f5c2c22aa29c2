"""ClientAPI parity: one behavioural suite, run on every implementation and every store.

The list of operations comes from ClientAPI itself (`duroxide.client.api.operations()`). Each
test names the operations it exercises (`@covers`), and the checks at the end fail when an
operation has no behavioural test, no REST route in the OpenAPI document (or is not written
once in ClientBase) or no CLI command (or a written reason why not). So an operation added to
ClientAPI without its HttpClient implementation, its route, its test and its CLI support
fails here.

`client` is the native Client or an HttpClient talking to a real uvicorn server on the same
store, or one of their asyncio twins (AsyncClient, AsyncHttpClient) driven through
`helpers.aio_adapter.SyncOverAsync`, which awaits each generated coroutine on an event loop of
its own, so the same suite checks the async clients operation by operation. One runtime and
one server per store serve the whole module. Ids are deliberately
awkward (slashes, dots, %, #, ?, spaces, non-ASCII) so every operation also proves that any
valid id works through the server.
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterator, List, NamedTuple, Set

import pytest

pytest.importorskip("fastapi")

import duroxide  # noqa: E402
import pg_cluster  # noqa: E402
from conftest import fast_options  # noqa: E402
from duroxide.cli import build_parser  # noqa: E402
from duroxide.client.api import ClientAPI, operations  # noqa: E402
from duroxide.client.base import TYPED_ALIASES, ClientBase  # noqa: E402
from duroxide.server import create_app  # noqa: E402
from helpers.aio_adapter import SyncOverAsync  # noqa: E402
from helpers.live_server import LiveServer  # noqa: E402
from helpers.util import wait_until  # noqa: E402

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


# ---- resources ---------------------------------------------------------------------------------


@covers("closed", "close")
def test_close_makes_later_calls_raise_closed_error(stack: Stack, kind: str) -> None:
    fresh: ClientAPI = make_client(stack, kind)
    assert not fresh.closed and fresh.get_status("nope").status == "NotFound"
    fresh.close()
    assert fresh.closed
    with pytest.raises(duroxide.ClosedError):
        fresh.get_status("nope")
    fresh.close()  # idempotent
    if isinstance(fresh, SyncOverAsync):
        fresh.stop()


# ---- start, status, events ---------------------------------------------------------------------


@covers("start_orchestration", "start_orchestration_typed", "get_status",
        "wait_for_orchestration", "wait_for_orchestration_typed")
def test_start_status_and_waits(client: ClientAPI, kind: str) -> None:
    a, b, bad = uid(kind, "echo-a"), uid(kind, "echo-b"), uid(kind, "fails")
    client.start_orchestration(a, "Echo", {"n": [1, 2]})
    client.start_orchestration_typed(b, "Echo", "text")
    client.start_orchestration(bad, "Fails")
    assert client.wait_for_orchestration(a, WAIT).output == {"n": [1, 2]}
    assert client.wait_for_orchestration_typed(b, WAIT) == "text"
    status = client.get_status(a)
    assert isinstance(status, duroxide.OrchestrationResult)
    assert (status.status, status.output, status.error) == ("Completed", {"n": [1, 2]}, None)
    assert client.get_status(uid(kind, "never")).status == "NotFound"
    with pytest.raises(duroxide.OrchestrationFailedError, match="boom") as failed:
        client.wait_for_orchestration_typed(bad, WAIT)
    assert "boom" in str(failed.value.error)
    assert client.get_status(bad).status == "Failed"
    with pytest.raises(duroxide.InstanceAlreadyExistsError):
        client.start_orchestration(a, "Echo")
    with pytest.raises(duroxide.InvalidArgumentError):
        client.start_orchestration("", "Echo")
    with pytest.raises(TypeError, match="not JSON-serializable"):
        client.start_orchestration(uid(kind, "bad-input"), "Echo", object())
    with pytest.raises(duroxide.OperationTimedOutError, match="^Operation timed out$"):
        client.wait_for_orchestration(uid(kind, "never"), 100)


def test_start_policies(client: ClientAPI, kind: str) -> None:
    """if_exists (docs/flow-control.md) behaves the same through every client."""
    a = uid(kind, "policy")
    client.start_orchestration(a, "Echo", 1)
    assert client.wait_for_orchestration(a, WAIT).output == 1
    client.start_orchestration(a, "Echo", 2, if_exists="use_existing")
    assert client.get_status(a).output == 1
    client.start_orchestration_versioned(a, "Echo", 3, "1.0.0", if_exists="restart_if_ended")
    assert client.wait_for_orchestration(a, WAIT).output == 3
    assert client.get_instance_info(a).current_execution_id == 2
    with pytest.raises(duroxide.InvalidArgumentError, match="if_exists"):
        client.start_orchestration(uid(kind, "policy-bad"), "Echo", if_exists="nope")
    assert client.get_status(uid(kind, "policy-bad")).status == "NotFound"


@covers("debounce")
def test_debounce(client: ClientAPI, kind: str) -> None:
    key = uid(kind, "debounce")
    assert client.debounce(key, "Echo", 1, window_ms=600) == f"{key}@1"
    assert client.debounce(key, "Echo", {"two": 2}, window_ms=600) == f"{key}@1"
    assert client.wait_for_orchestration(f"{key}@1", WAIT).output == [1, {"two": 2}]
    with pytest.raises(duroxide.InvalidArgumentError, match="window_ms"):
        client.debounce(key, "Echo", 3, window_ms=0)
    with pytest.raises(duroxide.InvalidArgumentError, match="max_items"):
        client.debounce(key, "Echo", 3, window_ms=10, max_items=0)


@covers("start_orchestration_versioned", "start_orchestration_versioned_typed")
def test_versioned_starts_pin_the_version(client: ClientAPI, kind: str) -> None:
    old, new = uid(kind, "v1"), uid(kind, "v1-typed")
    client.start_orchestration_versioned(old, "Versioned", None, "1.0.0")
    client.start_orchestration_versioned_typed(new, "Versioned", None, "1.0.0")
    latest = uid(kind, "latest")
    client.start_orchestration(latest, "Versioned")
    assert [client.wait_for_orchestration(i, WAIT).output for i in (old, new, latest)] == [
        "v1", "v1", "v2"]
    assert client.get_instance_info(old).orchestration_version == "1.0.0"


@covers("raise_event", "raise_event_typed", "enqueue_event", "enqueue_event_typed",
        "wait_for_status_change", "cancel_instance")
def test_events_queues_custom_status_and_cancel(client: ClientAPI, kind: str) -> None:
    a, b, c = uid(kind, "wait-a"), uid(kind, "wait-b"), uid(kind, "wait-c")
    for instance_id in (a, b, c):
        client.start_orchestration(instance_id, "Waiter")
    seen = client.wait_for_status_change(a, 0, 50, WAIT)
    assert seen is not None and seen.custom_status == "waiting"
    assert client.wait_for_status_change(a, seen.custom_status_version, 50, 200) is None
    assert subscribed(client, a) and subscribed(client, b)
    client.raise_event(a, "go", {"by": kind})
    client.enqueue_event(a, "q", 1)
    client.enqueue_event_typed(a, "q", [2])
    assert client.wait_for_orchestration(a, WAIT).output == [{"by": kind}, 1, [2]]
    done = client.wait_for_status_change(a, seen.custom_status_version, 50, WAIT)
    assert done is not None and done.custom_status == "done"

    client.raise_event_typed(b, "go", "typed")
    client.enqueue_event(b, "q", None)
    client.enqueue_event(b, "q", "x")
    assert client.wait_for_orchestration(b, WAIT).output == ["typed", None, "x"]
    # Events for an unknown or finished instance are dropped without an error.
    client.raise_event(uid(kind, "never"), "go")
    client.enqueue_event(b, "q", 3)

    client.cancel_instance(c, "enough")
    result = client.wait_for_orchestration(c, WAIT)
    assert result.status == "Failed" and "canceled: enough" in str(result.error)
    client.cancel_instance(uid(kind, "never"))  # nothing to cancel: no error


@covers("rerun")
def test_rerun_continues_a_failed_instance_under_current_code(client: ClientAPI,
                                                              kind: str) -> None:
    bad = uid(kind, "rerun-src")
    client.start_orchestration(bad, "Fails")
    assert client.wait_for_orchestration(bad, WAIT).status == "Failed"
    new_id = client.rerun(bad)
    assert new_id == bad + "~1"
    assert client.wait_for_orchestration(new_id, WAIT).status == "Failed"  # same code
    assert client.rerun(bad) == bad + "~2"
    with pytest.raises(duroxide.InvalidArgumentError):
        client.rerun(bad, from_event_id=10_000)
    with pytest.raises(duroxide.NotFoundError):
        client.rerun(uid(kind, "never"))


@covers("suspend_instance", "resume_instance", "terminate_instance", "get_pending", "bulk")
def test_operations_suspend_resume_terminate_pending_bulk(client: ClientAPI, kind: str) -> None:
    a, b = uid(kind, f"ops-{kind}-a"), uid(kind, f"ops-{kind}-b")
    for instance_id in (a, b):
        client.start_orchestration(instance_id, "Waiter")
    assert subscribed(client, a) and subscribed(client, b)
    assert [e["name"] for e in client.get_pending(a).events] == ["go"]
    client.suspend_instance(a, "why not")
    assert (client.get_status(a).status, client.get_status(a).error) == ("Suspended", "why not")
    client.raise_event(a, "go", 1)
    assert client.get_pending(a).buffered == {"ExternalRaised": 1}
    with pytest.raises(duroxide.FailedPreconditionError, match="not suspended|is Running"):
        client.resume_instance(b)
    client.resume_instance(a)
    client.enqueue_event(a, "q", 2)
    client.enqueue_event(a, "q", 3)
    assert client.wait_for_orchestration(a, WAIT).output == [1, 2, 3]
    client.terminate_instance(b, "bye", output=[kind])
    ended = client.wait_for_orchestration(b, WAIT)
    assert (ended.status, ended.error, ended.output) == ("Terminated", "terminated: bye", [kind])
    with pytest.raises(duroxide.NotFoundError):
        client.suspend_instance(uid(kind, "never"))
    with pytest.raises(duroxide.InvalidArgumentError):
        client.bulk("nope")
    prefix = f"ops-{kind}-"
    dry = client.bulk("delete", id_prefix=prefix, dry_run=True)
    assert sorted(dry.matched) == sorted([a, b]) and dry.done == []
    assert client.bulk("delete", id_prefix=prefix).done == dry.matched
    assert client.get_status(a).status == "NotFound"


# ---- KV ------------------------------------------------------------------------------------------


@covers("get_kv_value", "get_kv_value_typed", "wait_for_kv_value", "wait_for_kv_value_typed",
        "get_kv_all")
def test_kv_reads_and_waits(client: ClientAPI, kind: str) -> None:
    instance_id = uid(kind, "kv")
    client.start_orchestration(instance_id, "Kv", {"n": 5})
    assert json.loads(client.wait_for_kv_value(instance_id, "k/ä", WAIT)) == {"n": 5}
    assert client.get_kv_value(instance_id, "k/ä") == json.dumps({"n": 5})
    assert client.get_kv_value_typed(instance_id, "k/ä") == {"n": 5}
    assert client.get_kv_value(instance_id, "missing") is None
    assert client.get_kv_value_typed(instance_id, "missing") is None
    assert client.get_kv_all(instance_id) == {"k/ä": json.dumps({"n": 5})}
    assert client.get_kv_all(uid(kind, "never")) == {}
    with pytest.raises(duroxide.OperationTimedOutError,
                       match="^Timed out waiting for value 'late' on instance "):
        client.wait_for_kv_value(instance_id, "late", 100)
    assert subscribed(client, instance_id)
    client.raise_event(instance_id, "go")
    assert client.wait_for_kv_value_typed(instance_id, "late", WAIT) == 1


# ---- management -------------------------------------------------------------------------------


@covers("list_all_instances", "list_instances_by_status", "get_instance_info",
        "get_execution_info", "list_executions", "read_execution_history",
        "get_instance_tree", "get_orchestration_stats")
def test_listing_and_inspection(client: ClientAPI, kind: str) -> None:
    root, loop = uid(kind, "parent"), uid(kind, "loop")
    client.start_orchestration(root, "Parent", 7)
    client.start_orchestration(loop, "Looper", 0)
    assert client.wait_for_orchestration(root, WAIT).output == 7
    assert client.wait_for_orchestration(loop, WAIT).output == 2
    everything = client.list_all_instances()
    assert {root, root + "/kid", loop} <= set(everything)
    completed = client.list_instances_by_status("Completed")
    assert {root, loop} <= set(completed) and set(completed) <= set(everything)
    assert client.list_instances_by_status("Sleeping") == []

    info = client.get_instance_info(root)
    assert isinstance(info, duroxide.InstanceInfo)
    assert (info.instance_id, info.orchestration_name, info.status) == (root, "Parent",
                                                                        "Completed")
    assert client.get_instance_info(root + "/kid").parent_instance_id == root
    with pytest.raises(duroxide.NotFoundError):
        client.get_instance_info(uid(kind, "never"))

    assert client.list_executions(loop) == [1, 2, 3]
    assert client.list_executions(uid(kind, "never")) == []
    execution = client.get_execution_info(loop, 1)
    assert isinstance(execution, duroxide.ExecutionInfo)
    assert (execution.execution_id, execution.status) == (1, "ContinuedAsNew")
    with pytest.raises(duroxide.NotFoundError):
        client.get_execution_info(loop, 9)
    history = client.read_execution_history(root, 1)
    assert [e.kind for e in history][0] == "OrchestrationStarted"
    assert "SubOrchestrationCompleted" in [e.kind for e in history]
    assert all(isinstance(e, duroxide.Event) and json.loads(e.raw) for e in history)
    with pytest.raises(duroxide.NotFoundError):
        client.read_execution_history(uid(kind, "never"), 1)

    tree = client.get_instance_tree(root)
    assert isinstance(tree, duroxide.InstanceTree)
    assert (tree.root_id, list(tree.all_ids), tree.size) == (root, [root, root + "/kid"], 2)
    stats = client.get_orchestration_stats(root)
    assert isinstance(stats, duroxide.SystemStats) and stats.history_event_count > 0
    assert client.get_orchestration_stats(uid(kind, "never")) is None


@covers("delete_instance", "delete_instance_bulk", "prune_executions", "prune_executions_bulk")
def test_delete_and_prune(client: ClientAPI, kind: str) -> None:
    running, root, done = uid(kind, "del-run"), uid(kind, "del-root"), uid(kind, "del-done")
    loop_a, loop_b = uid(kind, "prune-a"), uid(kind, "prune-b")
    client.start_orchestration(running, "Waiter")
    client.start_orchestration(root, "Parent", 1)
    client.start_orchestration(done, "Echo", 1)
    client.start_orchestration(loop_a, "Looper", 0)
    client.start_orchestration(loop_b, "Looper", 0)
    for instance_id in (root, done, loop_a, loop_b):
        client.wait_for_orchestration(instance_id, WAIT)

    with pytest.raises(duroxide.FailedPreconditionError, match="still running"):
        client.delete_instance(running)
    with pytest.raises(duroxide.FailedPreconditionError, match="sub-orchestration"):
        client.delete_instance(root + "/kid")
    with pytest.raises(duroxide.NotFoundError):
        client.delete_instance(uid(kind, "never"))
    result = client.delete_instance(running, force=True)
    assert isinstance(result, duroxide.DeleteInstanceResult) and result.instances_deleted == 1
    assert client.delete_instance(root).instances_deleted == 2
    assert client.get_status(root + "/kid").status == "NotFound"
    bulk = client.delete_instance_bulk(duroxide.InstanceFilter(instance_ids=[done]))
    assert bulk.instances_deleted == 1 and client.get_status(done).status == "NotFound"

    pruned = client.prune_executions(loop_a, duroxide.PruneOptions(keep_last=1))
    assert isinstance(pruned, duroxide.PruneResult) and pruned.executions_deleted == 2
    assert client.list_executions(loop_a) == [3]
    bulk_pruned = client.prune_executions_bulk(duroxide.InstanceFilter(instance_ids=[loop_b]),
                                               duroxide.PruneOptions(keep_last=2))
    assert bulk_pruned.executions_deleted == 1 and client.list_executions(loop_b) == [2, 3]


@covers("get_system_metrics", "get_queue_depths")
def test_store_metrics(client: ClientAPI, stack: Stack) -> None:
    metrics = client.get_system_metrics()
    assert isinstance(metrics, duroxide.SystemMetrics)
    assert metrics.total_instances == len(stack.native.list_all_instances())
    assert metrics.total_executions >= metrics.total_instances
    depths = client.get_queue_depths()
    assert isinstance(depths, duroxide.QueueDepths)
    assert min(depths.orchestrator_queue, depths.worker_queue, depths.timer_queue) >= 0


# ---- the worker registry ----------------------------------------------------------------------


@covers("list_workers", "get_worker", "drain_worker", "prune_workers")
def test_worker_registry_drain_and_prune(client: ClientAPI, stack: Stack, kind: str) -> None:
    spare = duroxide.Runtime(stack.provider, duroxide.RuntimeOptions(
        orchestration_concurrency=0, worker_concurrency=0, heartbeat_interval_ms=100,
        worker_node_id=uid(kind, "spare"), worker_name_hint=f"spare-{kind}"))
    spare.start()
    try:
        workers = client.list_workers()
        assert all(isinstance(w, duroxide.WorkerInfo) for w in workers)
        assert {stack.runtime.worker_id, spare.worker_id} <= {w.worker_id for w in workers}
        by_id = client.get_worker(spare.worker_id)
        assert (by_id.name, by_id.status) == (spare.worker_name, "active")
        assert client.get_worker(str(spare.worker_name)).worker_id == spare.worker_id
        with pytest.raises(duroxide.NotFoundError):
            client.get_worker("nobody-here")
        drained = client.drain_worker(spare.worker_id)
        assert drained.worker_id == spare.worker_id and drained.drain_requested
        assert wait_until(lambda: spare.drained, 10)
    finally:
        spare.shutdown(1000)
    assert client.get_worker(spare.worker_id).status == "stopped"
    with pytest.raises(duroxide.FailedPreconditionError):
        client.drain_worker(spare.worker_id)
    with pytest.raises(duroxide.InvalidArgumentError):
        client.prune_workers(-1)
    assert client.prune_workers(60_000) == 0
    # Silent for longer than 600 ms: the stopped spare, never the live runtime (it beats
    # every 200 ms).
    assert wait_until(lambda: client.prune_workers(600) >= 1, 10, 0.1)
    remaining = {w.worker_id for w in client.list_workers()}
    assert stack.runtime.worker_id in remaining and spare.worker_id not in remaining


@covers("list_unservable_work")
def test_unservable_work_names_what_no_worker_runs(client: ClientAPI, kind: str) -> None:
    instance_id, name = uid(kind, "stuck"), f"Unserved-{kind}"
    client.start_orchestration(instance_id, name)  # stays queued: nothing can be deleted

    seen: List[Any] = []

    def found() -> bool:  # not while the runtime holds the item's lock for a moment
        seen[:] = [u for u in client.list_unservable_work() if u.name == name]
        return bool(seen)
    assert wait_until(found, 10)
    group = seen[0]
    assert isinstance(group, duroxide.UnservableWork)
    assert (group.kind, group.count, group.instance_ids) == ("orchestration", 1, [instance_id])
    assert "not registered on any live worker" in group.reason and group.oldest_wait_ms >= 0


# ---- messaging -----------------------------------------------------------------------------------


@covers("send_message", "publish_event", "request", "list_topics", "get_topic")
def test_messages_topics_and_requests(client: ClientAPI, kind: str) -> None:
    instance_id, topic = uid(kind, "inbox"), f"news/{kind}/ä"
    client.start_orchestration(instance_id, "Inbox", topic)

    def has_subscriber() -> bool:
        try:
            return [s.instance_id for s in client.get_topic(topic).subscribers] == [instance_id]
        except duroxide.NotFoundError:
            return False
    assert wait_until(has_subscriber, 10)
    detail = client.get_topic(topic)
    assert isinstance(detail, duroxide.TopicDetail) and detail.topic == topic
    assert topic in {t.topic for t in client.list_topics()}
    with pytest.raises(duroxide.NotFoundError):
        client.get_topic(f"no-such-topic/{kind}")

    message_id = client.send_message(instance_id, "inbox", {"m": 1})
    assert isinstance(message_id, str) and message_id
    seq = client.publish_event(topic, "e")
    assert isinstance(seq, int) and seq >= 1
    assert client.request(instance_id, "double", 21, 10_000) == 42
    assert client.wait_for_orchestration(instance_id, WAIT).output == [{"m": 1}, "e"]
    with pytest.raises(duroxide.RequestFailedError):
        client.request(uid(kind, "never"), "double", 1, 5000)
    waiting = uid(kind, "inbox-2")
    client.start_orchestration(waiting, "Inbox", topic + "/2")
    with pytest.raises(duroxide.RequestTimedOutError):
        client.request(waiting, "double", 1, 300)
    client.cancel_instance(waiting)


@covers("list_dead_letters", "redeliver_dead_letter", "purge_dead_letters")
def test_dead_letters(client: ClientAPI, kind: str) -> None:
    ghost, late = uid(kind, "ghost"), uid(kind, "late")
    client.send_message(ghost, "inbox", 1)
    client.send_message(ghost, "inbox", 2)
    client.send_message(late, "inbox", {"late": True})
    assert wait_until(lambda: len(client.list_dead_letters(ghost)) == 2, 10)
    letters = client.list_dead_letters(ghost)
    assert all(isinstance(d, duroxide.DeadLetter) for d in letters)
    assert [(d.instance_id, d.queue, d.data) for d in letters] == [(ghost, "inbox", 1),
                                                                   (ghost, "inbox", 2)]
    assert client.purge_dead_letters(instance_id=ghost, ids=[letters[0].id]) == 1
    assert [d.data for d in client.list_dead_letters(ghost)] == [2]
    assert client.purge_dead_letters(instance_id=ghost) == 1

    assert wait_until(lambda: len(client.list_dead_letters(late)) == 1, 10)
    (letter,) = client.list_dead_letters(late)
    client.start_orchestration(late, "Inbox", f"late/{kind}")
    assert subscribed_to_queue(client, late)
    client.redeliver_dead_letter(letter.id)
    client.publish_event(f"late/{kind}", "e")
    client.request(late, "double", 1, 10_000)
    assert client.wait_for_orchestration(late, WAIT).output == [{"late": True}, "e"]
    assert client.list_dead_letters(late) == []
    with pytest.raises(duroxide.NotFoundError):
        client.redeliver_dead_letter(letter.id)


def subscribed_to_queue(client: ClientAPI, instance_id: str) -> bool:
    """The instance's first turn ran (it exists, and its subscription is in place)."""
    def started() -> bool:
        try:
            return len(client.read_execution_history(instance_id, 1)) > 1
        except duroxide.NotFoundError:
            return False
    return wait_until(started, 10)


@covers("actor", "list_actors")
def test_actor_references(client: ClientAPI, kind: str) -> None:
    key = f"visits/{kind}/ä #1"
    ref = client.actor("Counter", key)
    expected = duroxide.AsyncActorRef if kind.startswith("async") else duroxide.ActorRef
    assert isinstance(getattr(ref, "wrapped", ref), expected)
    assert ref.instance_id == f"@actor/Counter/{key}"
    ref.send(2)
    assert ref.request(3, 10_000) == 5
    assert ref.state() == {"n": 5}
    actors = [a for a in client.list_actors("Counter") if a.key == key]
    assert [(a.actor_type, a.instance_id, a.status) for a in actors] == [
        ("Counter", ref.instance_id, "Running")]
    assert client.list_actors("NoSuchType") == []
    with pytest.raises(duroxide.InvalidArgumentError):
        client.actor("Bad/Type", "k")


# ---- task graphs, the task cache, capability routing --------------------------------------------


@covers("submit", "get_graph", "clear_task_cache")
def test_task_graph_submission_and_cache(client: ClientAPI, stack: Stack, kind: str) -> None:
    add, square = stack.tasks["add"], stack.tasks["square"]
    base = 3 if kind == "native" else 4  # a result cached by this run only
    job = client.submit(add(square(base), 1), instance_id=uid(kind, "graph"))
    assert job == uid(kind, "graph")
    assert client.wait_for_orchestration(job, WAIT).output == base * base + 1
    graph = client.get_graph(job)
    assert graph["instance_id"] == job and graph["edges"] == [(0, 1)]
    assert [(n["task"], n["status"]) for n in graph["nodes"]] == [("square", "completed"),
                                                                  ("add", "completed")]
    generated = client.submit(add(1, 2))
    assert generated.startswith("graph-") and client.wait_for_orchestration(
        generated, WAIT).output == 3
    assert client.get_graph(uid(kind, "never"))["nodes"] == []
    with pytest.raises(duroxide.InvalidTypeError):
        client.submit("not a handle")  # type: ignore[arg-type]
    assert client.clear_task_cache(square) >= 1
    assert client.clear_task_cache("square") == 0
    assert client.clear_task_cache() >= 0


@covers("list_waiting_activities")
def test_waiting_activities(client: ClientAPI, kind: str) -> None:
    instance_id = uid(kind, "gpu")
    client.start_orchestration(instance_id, "NeedsGpu")
    try:
        def mine() -> List[Any]:
            return [w for w in client.list_waiting_activities() if w["instance_id"] == instance_id]
        assert wait_until(lambda: bool(mine()), 10)
        (waiting,) = mine()
        assert (waiting["name"], waiting["schema"], waiting["deadline_ms"]) == ("Work", NEEDS_GPU,
                                                                                0)
        assert waiting["waiting_ms"] >= 0 and waiting["schema_hash"]
        assert [w for w in client.list_waiting_activities(min_wait_ms=3_600_000)
                if w["instance_id"] == instance_id] == []  # has not waited an hour
        assert len(client.list_waiting_activities(limit=1)) == 1
    finally:
        client.cancel_instance(instance_id)


@covers("create_schedule", "get_schedule", "list_schedules", "update_schedule",
        "pause_schedule", "resume_schedule", "trigger_schedule", "backfill_schedule",
        "delete_schedule")
def test_schedules(client: ClientAPI, kind: str) -> None:
    sid = uid(kind, "sched")
    info = client.create_schedule(sid, "Echo", {"n": 1}, cron="0 4 * * *",
                                  timezone="Europe/Paris", overlap="allow_all", paused=True)
    assert (info.schedule_id, info.input, info.cron, info.timezone, info.paused) == (
        sid, {"n": 1}, "0 4 * * *", "Europe/Paris", True)
    assert client.get_schedule(sid) == info
    assert sid in [s.schedule_id for s in client.list_schedules()]
    with pytest.raises(duroxide.ScheduleAlreadyExistsError):
        client.create_schedule(sid, "Echo", every_ms=1000)
    with pytest.raises(duroxide.InvalidArgumentError, match="timezone"):
        client.create_schedule(uid(kind, "badtz"), "Echo", cron="0 4 * * *", timezone="No/Where")
    with pytest.raises(duroxide.InvalidArgumentError, match="every_ms"):
        client.update_schedule(sid, every_ms=5)
    assert client.update_schedule(sid, note="n").note == "n"
    assert client.resume_schedule(sid).next_fire_ms is not None
    assert client.pause_schedule(sid, note="why").note == "why"
    run = client.trigger_schedule(sid)
    assert run.startswith(sid + "@")
    assert client.wait_for_orchestration(run, WAIT).output == {"n": 1}
    now = int(time.time() * 1000)
    day = 86_400_000
    ids = client.backfill_schedule(sid, now - 3 * day, now - day)
    assert len(ids) == 2 and all(i.startswith(sid + "@") for i in ids)
    assert [client.wait_for_orchestration(i, WAIT).output for i in ids] == [{"n": 1}] * 2
    assert client.get_schedule(sid).recent_instances == [*ids[::-1], run]
    client.delete_schedule(sid)
    for op in (client.get_schedule, client.delete_schedule, client.trigger_schedule):
        with pytest.raises(duroxide.NotFoundError):
            op(sid)


@covers("set_limit", "get_limit", "list_limits", "delete_limit")
def test_limits(client: ClientAPI, kind: str) -> None:
    name = uid(kind, "lim")
    client.set_limit(name, duroxide.Limit(concurrency=2, rate_per_s=4, per_key=True))
    info = client.get_limit(name)
    assert (info.name, info.concurrency, info.rate_per_s, info.burst, info.per_key,
            info.in_flight, info.waiting) == (name, 2, 4.0, 4.0, True, 0, 0)
    assert name in [i.name for i in client.list_limits()]
    with pytest.raises(duroxide.InvalidArgumentError, match="concurrency"):
        client.set_limit(name, {"concurrency": 0})  # type: ignore[arg-type]
    client.set_limit(name, duroxide.Limit(rate_per_s=1))
    assert (client.get_limit(name).concurrency, client.get_limit(name).rate_per_s) == (None, 1)
    client.delete_limit(name)
    for op in (client.get_limit, client.delete_limit):
        with pytest.raises(duroxide.NotFoundError):
            op(name)


# ---- every operation: a test, a route (or ClientBase), a CLI command ----------------------------

# How HttpClient reaches each operation it implements itself: (method, path in the OpenAPI
# document). The rest are written once in ClientBase on top of these.
ROUTES = {
    "start_orchestration": ("post", "/v1/instances"),
    "start_orchestration_versioned": ("post", "/v1/instances"),
    "get_status": ("get", "/v1/instances/{instance_id}/status"),
    "wait_for_orchestration": ("get", "/v1/instances/{instance_id}/wait"),
    "wait_for_status_change": ("get", "/v1/instances/{instance_id}/status"),
    "raise_event": ("post", "/v1/instances/{instance_id}/events"),
    "enqueue_event": ("post", "/v1/instances/{instance_id}/queues/{queue}"),
    "cancel_instance": ("post", "/v1/instances/{instance_id}/cancel"),
    "get_kv_value": ("get", "/v1/instances/{instance_id}/kv/{key}"),
    "wait_for_kv_value": ("get", "/v1/instances/{instance_id}/kv/{key}"),
    "get_kv_all": ("get", "/v1/instances/{instance_id}/kv"),
    "list_all_instances": ("get", "/v1/instances"),
    "list_instances_by_status": ("get", "/v1/instances"),
    "get_instance_info": ("get", "/v1/instances/{instance_id}"),
    "get_execution_info": ("get", "/v1/instances/{instance_id}/executions/{execution_id}"),
    "list_executions": ("get", "/v1/instances/{instance_id}"),
    "read_execution_history": ("get",
                               "/v1/instances/{instance_id}/executions/{execution_id}/history"),
    "get_instance_tree": ("get", "/v1/instances/{instance_id}/tree"),
    "delete_instance": ("delete", "/v1/instances/{instance_id}"),
    "delete_instance_bulk": ("post", "/v1/instances/bulk-delete"),
    "prune_executions": ("post", "/v1/instances/{instance_id}/prune"),
    "prune_executions_bulk": ("post", "/v1/instances/bulk-prune"),
    "get_system_metrics": ("get", "/v1/metrics"),
    "get_queue_depths": ("get", "/v1/queues"),
    "get_orchestration_stats": ("get", "/v1/instances/{instance_id}/stats"),
    "list_workers": ("get", "/v1/workers"),
    "drain_worker": ("post", "/v1/workers/{worker_id}/drain"),
    "prune_workers": ("post", "/v1/workers/prune"),
    "list_unservable_work": ("get", "/v1/unservable-work"),
    "send_message": ("post", "/v1/messages"),
    "publish_event": ("post", "/v1/topics/{topic}/events"),
    "request": ("post", "/v1/requests"),
    "list_dead_letters": ("get", "/v1/dead-letters"),
    "redeliver_dead_letter": ("post", "/v1/dead-letters/{letter_id}/redeliver"),
    "purge_dead_letters": ("delete", "/v1/dead-letters"),
    "list_topics": ("get", "/v1/topics"),
    "get_topic": ("get", "/v1/topics/{topic}"),
    "list_actors": ("get", "/v1/actors"),
    "get_graph": ("get", "/v1/instances/{instance_id}/graph"),
    "clear_task_cache": ("delete", "/v1/task-cache"),
    "list_waiting_activities": ("get", "/v1/waiting-activities"),
    "suspend_instance": ("post", "/v1/instances/{instance_id}/suspend"),
    "resume_instance": ("post", "/v1/instances/{instance_id}/resume"),
    "terminate_instance": ("post", "/v1/instances/{instance_id}/terminate"),
    "get_pending": ("get", "/v1/instances/{instance_id}/pending"),
    "bulk": ("post", "/v1/bulk"),
    "rerun": ("post", "/v1/instances/{instance_id}/rerun"),
    "create_schedule": ("post", "/v1/schedules"),
    "list_schedules": ("get", "/v1/schedules"),
    "get_schedule": ("get", "/v1/schedules/{schedule_id}"),
    "update_schedule": ("patch", "/v1/schedules/{schedule_id}"),
    "pause_schedule": ("post", "/v1/schedules/{schedule_id}/pause"),
    "resume_schedule": ("post", "/v1/schedules/{schedule_id}/resume"),
    "trigger_schedule": ("post", "/v1/schedules/{schedule_id}/trigger"),
    "backfill_schedule": ("post", "/v1/schedules/{schedule_id}/backfill"),
    "delete_schedule": ("delete", "/v1/schedules/{schedule_id}"),
    "set_limit": ("put", "/v1/limits/{name}"),
    "get_limit": ("get", "/v1/limits/{name}"),
    "list_limits": ("get", "/v1/limits"),
    "delete_limit": ("delete", "/v1/limits/{name}"),
}
LOCAL = {"closed", "close"}  # the client's own resources: no request

# The `duroxide` command that uses each operation (a test in test_cli_url.py runs every
# command with --db and with --url and compares), or why there is none.
CLI = {
    "closed": None, "close": None,  # every command closes its client
    "start_orchestration": "start", "start_orchestration_versioned": "start",
    "debounce": "debounce",
    "get_status": "show", "wait_for_orchestration": "wait",
    "raise_event": "raise", "enqueue_event": "enqueue", "cancel_instance": "cancel",
    "get_kv_value": "kv", "wait_for_kv_value": "kv", "get_kv_all": "show",
    "wait_for_status_change": "wait",
    "list_all_instances": "list", "list_instances_by_status": "list",
    "get_instance_info": "show", "get_execution_info": "history",
    "list_executions": "show", "read_execution_history": "history",
    "get_instance_tree": "tree", "delete_instance": "delete", "prune_executions": "prune",
    "get_system_metrics": "metrics", "get_queue_depths": "metrics",
    "get_orchestration_stats": "show",
    "list_workers": "workers", "get_worker": "workers", "drain_worker": "workers",
    "prune_workers": "workers", "list_unservable_work": "doctor",
    "send_message": "send", "publish_event": "publish", "request": "request",
    "list_dead_letters": "dead-letters", "redeliver_dead_letter": "dead-letters",
    "purge_dead_letters": "dead-letters", "list_topics": "topics", "get_topic": "topic",
    "list_actors": "actors", "actor": "actor",
    "get_graph": "graph", "clear_task_cache": "cache-clear",
    "list_waiting_activities": "waiting",
    "suspend_instance": "suspend", "resume_instance": "resume",
    "terminate_instance": "terminate", "get_pending": "show", "bulk": "bulk",
    "rerun": "rerun",
    "list_schedules": "schedules", "create_schedule": "schedule", "get_schedule": "schedule",
    "update_schedule": "schedule", "pause_schedule": "schedule", "resume_schedule": "schedule",
    "trigger_schedule": "schedule", "backfill_schedule": "schedule",
    "delete_schedule": "schedule",
    "set_limit": "limit", "get_limit": "limit", "list_limits": "limits",
    "delete_limit": "limit",
}
NO_CLI = {
    # The typed variants are the same operations as the commands' (JSON values either way).
    "start_orchestration_typed": "start", "start_orchestration_versioned_typed": "start",
    "raise_event_typed": "raise", "enqueue_event_typed": "enqueue",
    "wait_for_orchestration_typed": "wait", "get_kv_value_typed": "kv",
    "wait_for_kv_value_typed": "kv",
    # Bulk deletion and pruning: the per-instance commands cover the operations; the CLI has
    # no filter language for them.
    "delete_instance_bulk": "delete", "prune_executions_bulk": "prune",
    # A graph is built by calling @task functions in Python: there is no text form to type.
    "submit": "graph",
}


def test_every_operation_is_exercised() -> None:
    assert set(operations()) == COVERED, sorted(set(operations()) ^ COVERED)


def test_every_operation_is_implemented_by_every_client() -> None:
    for cls in (duroxide.Client, duroxide.HttpClient):
        assert not getattr(cls, "__abstractmethods__", None), (cls, cls.__abstractmethods__)
        for name in operations():
            owner = next(c for c in cls.__mro__ if name in vars(c))
            assert owner is not ClientAPI, (cls, name)


def test_every_operation_is_a_coroutine_of_the_async_clients() -> None:
    """Generated from ClientAPI: same names, arguments and docstrings, all coroutines (actor
    returns an AsyncActorRef at once, closed is a property)."""
    import inspect

    from duroxide.client.api import signature

    for cls in (duroxide.AsyncClient, duroxide.AsyncHttpClient):
        for name in operations():
            member = getattr(cls, name)
            if name == "closed":
                assert isinstance(member, property)
                continue
            if name == "actor":
                continue
            assert inspect.iscoroutinefunction(member), (cls, name)
            params = list(inspect.signature(member).parameters)
            assert params == list(signature(name).parameters), (cls, name, params)


def test_every_operation_has_a_route_or_is_derived() -> None:
    http = vars(duroxide.HttpClient)
    aliases = {a for a, plain in TYPED_ALIASES.items() if http[a] is http[plain]}
    own = {name for name in operations() if name in http} - aliases - LOCAL
    assert own == set(ROUTES), sorted(own ^ set(ROUTES))
    derived = {name for name in operations() if name in vars(ClientBase)} - own
    assert set(operations()) == own | derived | LOCAL
    spec = create_app(duroxide.Client(duroxide.SqliteProvider.in_memory())).openapi()
    for name, (method, path) in ROUTES.items():
        assert method in spec["paths"].get(path, {}), (name, method, path)


def test_every_operation_has_a_cli_command() -> None:
    assert set(operations()) == set(CLI) | set(NO_CLI)
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    named = {c for c in CLI.values() if c} | {c.split()[0] for c in NO_CLI.values()}
    assert named <= commands, sorted(named - commands)
