"""The management API of Client (api.md 1.4 and 1.11) against real runtimes.

Every method is exercised on instances produced by a runtime, in memory and in a file.
Timestamps are checked to be real epoch milliseconds (inside a window around time.time()).
"""

from __future__ import annotations

import json
import threading
import time

import pytest

import duroxide
from duroxide import (
    DeleteInstanceResult,
    Event,
    ExecutionInfo,
    InstanceFilter,
    InstanceInfo,
    InstanceTree,
    NotFoundError,
    PruneOptions,
    PruneResult,
    QueueDepths,
    StoreError,
    SystemMetrics,
    SystemStats,
)
from helpers.util import wait_done, wait_until

RESULT_CLASSES = ("SystemMetrics", "SystemStats", "QueueDepths", "InstanceInfo", "ExecutionInfo",
                  "InstanceTree", "DeleteInstanceResult", "PruneOptions", "PruneResult",
                  "InstanceFilter", "Event")


def now_ms() -> int:
    return int(time.time() * 1000)


def assert_epoch_ms(value, before_ms, after_ms=None):
    """`value` is an int epoch-ms timestamp between before_ms and after_ms (default: now)."""
    after_ms = now_ms() if after_ms is None else after_ms
    assert isinstance(value, int)
    assert before_ms - 5 <= value <= after_ms + 5, (value, before_ms, after_ms)


def history_or_empty(client, instance_id, execution_id):
    """The history, or [] while the instance's first turn has not been committed yet."""
    try:
        return client.read_execution_history(instance_id, execution_id)
    except duroxide.NotFoundError:
        return []


def register_common(rt):
    """Activities and orchestrations shared by the tests of this module."""

    @rt.register_activity("Double")
    def double(ctx, x):
        return x * 2

    @rt.register_activity("Explode")
    def explode(ctx, x):
        raise ValueError(f"boom {x}")

    def echo(ctx, input):
        return input
        yield  # pragma: no cover - makes this a generator

    def fails(ctx, input):
        yield ctx.schedule_activity("Explode", input)

    def waiter(ctx, input):
        value = yield ctx.wait_for_event("go")
        return {"got": value}

    def child(ctx, n):
        doubled = yield ctx.schedule_activity("Double", n)
        return doubled

    def nested(ctx, n):
        inner = yield ctx.schedule_sub_orchestration("Child", n)
        return inner + 1

    def parent(ctx, n):
        results = yield ctx.all([ctx.schedule_sub_orchestration("Child", n),
                                 ctx.schedule_sub_orchestration("Nested", n)])
        return results

    def parent_of_waiter(ctx, input):
        result = yield ctx.schedule_sub_orchestration_with_id("Waiter", input["child"], None)
        return result

    def counter(ctx, input):
        ctx.set_kv_value("seen", input["i"])
        if input["i"] + 1 < input["n"]:
            yield ctx.continue_as_new({**input, "i": input["i"] + 1})
        if input.get("wait"):
            yield ctx.wait_for_event("finish")
        return input["i"]

    for name, fn in (("Echo", echo), ("Fails", fails), ("Waiter", waiter), ("Child", child),
                     ("Nested", nested), ("Parent", parent), ("ParentOfWaiter", parent_of_waiter),
                     ("Counter", counter)):
        rt.register_orchestration(name, fn)


@pytest.fixture
def mgmt(env):
    """(client, runtime) with the module's orchestrations registered and the runtime started."""
    rt = env.make_runtime()
    register_common(rt)
    rt.start()
    return env.client, rt


def run(client, instance_id, name, input=None):
    client.start_orchestration(instance_id, name, input)
    return wait_done(client, instance_id)


# ---- exports and result classes ------------------------------------------------------------


def test_result_classes_are_exported_with_py_aliases():
    for name in RESULT_CLASSES:
        cls = getattr(duroxide, name)
        assert getattr(duroxide, "Py" + name) is cls
        assert name in duroxide.__all__ and "Py" + name in duroxide.__all__


def test_option_classes_construct_with_defaults_and_are_read_only():
    options = PruneOptions()
    assert (options.keep_last, options.completed_before) == (None, None)
    options = PruneOptions(keep_last=3, completed_before=1234)
    assert (options.keep_last, options.completed_before) == (3, 1234)
    with pytest.raises(AttributeError):
        options.keep_last = 5
    flt = InstanceFilter()
    assert (flt.instance_ids, flt.completed_before, flt.limit) == (None, None, None)
    flt = InstanceFilter(instance_ids=["a", "b"], completed_before=99, limit=7)
    assert (flt.instance_ids, flt.completed_before, flt.limit) == (["a", "b"], 99, 7)
    with pytest.raises(AttributeError):
        flt.limit = 1
    assert "keep_last=3" in repr(PruneOptions(keep_last=3))


def test_info_classes_are_settable_and_results_read_only(mgmt):
    client, _ = mgmt
    run(client, "settable", "Echo", 1)
    info = client.get_instance_info("settable")
    info.status = "Patched"
    info.output = None
    assert (info.status, info.output) == ("Patched", None)
    execution = client.get_execution_info("settable", 1)
    execution.event_count = 99
    execution.completed_at = None
    assert (execution.event_count, execution.completed_at) == (99, None)
    metrics = client.get_system_metrics()
    with pytest.raises(AttributeError):
        metrics.total_instances = 0
    depths = client.get_queue_depths()
    with pytest.raises(AttributeError):
        depths.worker_queue = 1
    history = client.read_execution_history("settable", 1)
    with pytest.raises(AttributeError):
        history[0].kind = "x"


# ---- listing and inspection ----------------------------------------------------------------


def test_list_all_instances_newest_first_and_by_status(mgmt):
    client, _ = mgmt
    assert client.list_all_instances() == []
    for instance_id, name in (("l-1", "Echo"), ("l-2", "Fails"), ("l-3", "Echo")):
        run(client, instance_id, name, 1)
        time.sleep(0.005)  # distinct creation times
    client.start_orchestration("l-4", "Waiter")
    assert wait_until(lambda: client.list_instances_by_status("Running") == ["l-4"])
    assert client.list_all_instances() == ["l-4", "l-3", "l-2", "l-1"]
    assert client.list_instances_by_status("Completed") == ["l-3", "l-1"]
    assert client.list_instances_by_status("Failed") == ["l-2"]
    assert client.list_instances_by_status("ContinuedAsNew") == []
    assert client.list_instances_by_status("NoSuchStatus") == []


def test_get_instance_info_fields_and_real_timestamps(mgmt):
    client, _ = mgmt
    before = now_ms()
    run(client, "info-ok", "Echo", {"a": [1, 2]})
    run(client, "info-bad", "Fails", 7)
    after = now_ms()

    info = client.get_instance_info("info-ok")
    assert isinstance(info, InstanceInfo)
    assert info.instance_id == "info-ok"
    assert info.orchestration_name == "Echo"
    assert info.orchestration_version == "1.0.0"
    assert info.current_execution_id == 1
    assert info.status == "Completed"
    assert isinstance(info.output, str)  # raw JSON text, not parsed
    assert json.loads(info.output) == {"a": [1, 2]}
    assert info.parent_instance_id is None
    assert_epoch_ms(info.created_at, before, after)
    assert_epoch_ms(info.updated_at, info.created_at, after)

    bad = client.get_instance_info("info-bad")
    assert bad.status == "Failed"
    assert "boom 7" in bad.output

    with pytest.raises(NotFoundError, match="^Instance nope not found$"):
        client.get_instance_info("nope")
    with pytest.raises(duroxide.NotFoundError):
        client.get_instance_info("nope")


def test_executions_across_continue_as_new(mgmt):
    client, _ = mgmt
    before = now_ms()
    result = run(client, "can", "Counter", {"i": 0, "n": 4})
    assert result.output == 3
    assert client.list_executions("can") == [1, 2, 3, 4]
    assert client.list_executions("nope") == []
    info = client.get_instance_info("can")
    assert (info.current_execution_id, info.status) == (4, "Completed")
    for execution_id in (1, 2, 3, 4):
        execution = client.get_execution_info("can", execution_id)
        assert isinstance(execution, ExecutionInfo)
        assert execution.execution_id == execution_id
        assert execution.status == ("Completed" if execution_id == 4 else "ContinuedAsNew")
        assert_epoch_ms(execution.started_at, before)
        assert_epoch_ms(execution.completed_at, execution.started_at)
        history = client.read_execution_history("can", execution_id)
        assert execution.event_count == len(history) > 0
    assert json.loads(client.get_execution_info("can", 4).output) == 3
    with pytest.raises(NotFoundError, match="not found"):
        client.get_execution_info("can", 5)
    with pytest.raises(NotFoundError, match="^Instance nope not found$"):
        client.get_execution_info("nope", 1)


def test_read_execution_history_kinds_data_and_sources(mgmt):
    client, rt = mgmt

    def tour(ctx, input):
        doubled = yield ctx.schedule_activity("Double", input["x"])
        yield ctx.schedule_timer(10)
        event = yield ctx.wait_for_event("approve")
        child = yield ctx.schedule_sub_orchestration_with_id("Child", "tour-child", 5)
        return {"doubled": doubled, "event": event, "child": child}

    rt.register_orchestration("Tour", tour)
    before = now_ms()
    client.start_orchestration("tour", "Tour", {"x": 21})
    assert wait_until(lambda: any(e.kind == "ExternalSubscribed"
                                  for e in history_or_empty(client, "tour", 1)))
    client.raise_event("tour", "approve", {"ok": True})
    assert wait_done(client, "tour").status == "Completed"

    events = client.read_execution_history("tour", 1)
    assert all(isinstance(e, Event) for e in events)
    assert [e.event_id for e in events] == list(range(1, len(events) + 1))
    stamps = [e.timestamp_ms for e in events]
    assert stamps == sorted(stamps)
    for stamp in stamps:
        assert_epoch_ms(stamp, before)
    by_kind = {}
    for e in events:
        by_kind.setdefault(e.kind, []).append(e)
    assert events[0].kind == "OrchestrationStarted"
    assert json.loads(events[0].data) == {"name": "Tour", "version": "1.0.0", "input": {"x": 21}}
    scheduled = by_kind["ActivityScheduled"][0]
    assert json.loads(scheduled.data) == {"name": "Double", "input": 21}
    completed = by_kind["ActivityCompleted"][0]
    assert completed.source_event_id == scheduled.event_id
    assert json.loads(completed.data) == 42
    timer = by_kind["TimerCreated"][0]
    fire_at = json.loads(timer.data)["fireAtMs"]
    assert_epoch_ms(fire_at, before)
    fired = by_kind["TimerFired"][0]
    assert fired.source_event_id == timer.event_id
    assert json.loads(fired.data) == {"fireAtMs": fire_at}
    assert json.loads(by_kind["ExternalSubscribed"][0].data) == {"name": "approve"}
    assert json.loads(by_kind["ExternalEvent"][0].data) == {"name": "approve",
                                                            "data": {"ok": True}}
    sub = by_kind["SubOrchestrationScheduled"][0]
    assert json.loads(sub.data) == {"name": "Child", "instance": "tour-child", "input": 5}
    sub_done = by_kind["SubOrchestrationCompleted"][0]
    assert (sub_done.source_event_id, json.loads(sub_done.data)) == (sub.event_id, 10)
    assert events[-1].kind == "OrchestrationCompleted"
    assert json.loads(events[-1].data) == {"doubled": 42, "event": {"ok": True}, "child": 10}
    assert events[0].source_event_id is None

    with pytest.raises(NotFoundError, match="not found"):
        client.read_execution_history("tour", 2)
    with pytest.raises(NotFoundError, match="^Instance nope not found$"):
        client.read_execution_history("nope", 1)
    with pytest.raises(ValueError, match="Invalid input"):
        client.read_execution_history("tour", 0)


def test_history_of_failures_carries_error_details(mgmt):
    client, _ = mgmt
    run(client, "hist-fail", "Fails", 3)
    events = client.read_execution_history("hist-fail", 1)
    failed = [e for e in events if e.kind == "ActivityFailed"]
    assert len(failed) == 1
    details = json.loads(failed[0].data)
    assert details["Application"]["kind"] == "ActivityFailed"
    assert "boom 3" in details["Application"]["message"]
    assert details["Application"]["retryable"] is False
    assert events[-1].kind == "OrchestrationFailed"
    assert "Application" in json.loads(events[-1].data)


def test_get_instance_tree(mgmt):
    client, _ = mgmt
    assert run(client, "tree", "Parent", 3).output == [{"ok": 6}, {"ok": 7}]
    tree = client.get_instance_tree("tree")
    assert isinstance(tree, InstanceTree)
    assert tree.root_id == "tree"
    assert tree.size == len(tree.all_ids) == 4  # root, Child, Nested, Nested's Child
    assert tree.all_ids[0] == "tree"
    children = [i for i in tree.all_ids
                if client.get_instance_info(i).parent_instance_id == "tree"]
    assert len(children) == 2 and set(tree.all_ids[1:3]) == set(children)  # breadth-first
    grandchild = tree.all_ids[3]
    assert client.get_instance_info(grandchild).parent_instance_id in children
    leaf = client.get_instance_tree(grandchild)
    assert (leaf.root_id, leaf.all_ids, leaf.size) == (grandchild, [grandchild], 1)
    with pytest.raises(NotFoundError, match="^Instance nope not found$"):
        client.get_instance_tree("nope")


# ---- deletion ------------------------------------------------------------------------------


def test_delete_instance_cascades_and_uses_the_api_error_texts(mgmt):
    client, _ = mgmt
    run(client, "del", "Parent", 2)
    tree = client.get_instance_tree("del")
    child = tree.all_ids[1]
    with pytest.raises(StoreError) as err:
        client.delete_instance(child)
    assert str(err.value) == (f"Cannot delete sub-orchestration {child} directly. "
                              "Delete the root orchestration instead.")
    with pytest.raises(NotFoundError, match="^Instance nope not found$"):
        client.delete_instance("nope")

    events = sum(client.get_execution_info(i, 1).event_count for i in tree.all_ids)
    result = client.delete_instance("del")
    assert isinstance(result, DeleteInstanceResult)
    assert result.instances_deleted == 4
    assert result.executions_deleted == 4
    assert result.events_deleted == events
    assert result.queue_messages_deleted == 0
    for instance_id in tree.all_ids:
        assert client.get_status(instance_id).status == "NotFound"
        assert client.list_executions(instance_id) == []
    assert client.list_all_instances() == []
    # The id is free again.
    assert run(client, "del", "Echo", "again").output == "again"


def test_delete_running_needs_force_and_stays_deleted(mgmt):
    client, _ = mgmt
    client.start_orchestration("run", "ParentOfWaiter", {"child": "run-child"})
    assert wait_until(lambda: client.get_status("run-child").status == "Running"
                      and client.list_instances_by_status("Running") != []
                      and len(client.list_all_instances()) == 2)
    with pytest.raises(StoreError) as err:
        client.delete_instance("run")
    assert str(err.value) == "Instance run is still running. Use force=true or cancel first."
    assert len(client.list_all_instances()) == 2

    result = client.delete_instance("run", force=True)
    assert result.instances_deleted == 2
    client.raise_event("run-child", "go", 1)  # dropped: nothing may recreate the instances
    time.sleep(0.3)
    assert client.get_status("run").status == "NotFound"
    assert client.get_status("run-child").status == "NotFound"
    assert client.list_all_instances() == []
    # The runtime is unharmed.
    assert run(client, "after", "Echo", 5).output == 5


def test_delete_instance_bulk(mgmt):
    client, _ = mgmt
    run(client, "old-ok", "Echo", 1)
    run(client, "old-bad", "Fails", 1)
    time.sleep(0.01)
    cutoff = now_ms()
    time.sleep(0.01)
    run(client, "tree", "Parent", 1)
    run(client, "new-1", "Echo", 1)
    run(client, "new-2", "Echo", 2)
    client.start_orchestration("live", "Waiter")
    assert wait_until(lambda: "live" in client.list_instances_by_status("Running"))

    by_time = client.delete_instance_bulk(InstanceFilter(completed_before=cutoff))
    assert by_time.instances_deleted == 2
    assert "old-ok" not in client.list_all_instances()

    by_ids = client.delete_instance_bulk(InstanceFilter(instance_ids=["tree", "live", "ghost"]))
    assert by_ids.instances_deleted == 4  # the tree with its 3 sub-orchestrations; live skipped
    assert by_ids.executions_deleted == 4
    assert by_ids.events_deleted > 4

    limited = client.delete_instance_bulk(InstanceFilter(limit=1))
    assert limited.instances_deleted == 1
    assert client.get_status("new-2").status == "NotFound"  # newest first
    everything = client.delete_instance_bulk()  # None: InstanceFilter()
    assert everything.instances_deleted == 1
    assert client.list_all_instances() == ["live"]  # running roots are never bulk-deleted
    assert client.delete_instance_bulk(InstanceFilter()).instances_deleted == 0
    with pytest.raises(ValueError):
        client.delete_instance_bulk(InstanceFilter(limit=-1))


# ---- pruning -------------------------------------------------------------------------------


def test_prune_executions(mgmt):
    client, _ = mgmt
    run(client, "prune", "Counter", {"i": 0, "n": 5})
    assert client.list_executions("prune") == [1, 2, 3, 4, 5]
    before_events = [client.get_execution_info("prune", i).event_count for i in (1, 2)]

    result = client.prune_executions("prune", PruneOptions(keep_last=3))
    assert isinstance(result, PruneResult)
    assert (result.instances_processed, result.executions_deleted) == (1, 2)
    assert result.events_deleted == sum(before_events)
    assert client.list_executions("prune") == [3, 4, 5]

    # completed_before in the past: nothing is old enough.
    assert client.prune_executions(
        "prune", PruneOptions(completed_before=now_ms() - 3_600_000)).executions_deleted == 0
    result = client.prune_executions("prune")  # None: PruneOptions(), current only
    assert result.executions_deleted == 2
    assert client.list_executions("prune") == [5]
    info = client.get_instance_info("prune")
    assert (info.status, info.current_execution_id) == ("Completed", 5)
    assert client.get_status("prune").output == 4
    assert client.get_kv_value("prune", "seen") == "4"  # KV is left alone
    with pytest.raises(NotFoundError, match="^Instance nope not found$"):
        client.prune_executions("nope")


@pytest.mark.parametrize("keep_last", [None, 0, 1])
def test_prune_keep_last_none_zero_one_are_equivalent(mgmt, keep_last):
    client, _ = mgmt
    run(client, "k", "Counter", {"i": 0, "n": 3})
    result = client.prune_executions("k", PruneOptions(keep_last=keep_last))
    assert result.executions_deleted == 2
    assert client.list_executions("k") == [3]


def test_prune_never_touches_a_running_current_execution(mgmt):
    client, _ = mgmt
    client.start_orchestration("eternal", "Counter", {"i": 0, "n": 4, "wait": True})
    assert wait_until(lambda: client.list_executions("eternal") == [1, 2, 3, 4]
                      and client.get_instance_info("eternal").status == "Running"
                      and client.get_execution_info("eternal", 4).event_count >= 3)
    result = client.prune_executions("eternal", PruneOptions(keep_last=0))
    assert result.executions_deleted == 3
    assert client.list_executions("eternal") == [4]
    client.raise_event("eternal", "finish")
    final = wait_done(client, "eternal")
    assert (final.status, final.output) == ("Completed", 3)


def test_prune_executions_bulk_includes_running_instances(mgmt):
    client, _ = mgmt
    client.start_orchestration("bulk-live", "Counter", {"i": 0, "n": 3, "wait": True})
    run(client, "bulk-done", "Counter", {"i": 0, "n": 2})
    run(client, "bulk-single", "Echo", 1)
    assert wait_until(lambda: client.list_executions("bulk-live") == [1, 2, 3]
                      and client.get_execution_info("bulk-live", 3).event_count >= 3)

    only = client.prune_executions_bulk(InstanceFilter(instance_ids=["bulk-live", "ghost"]))
    assert (only.instances_processed, only.executions_deleted) == (1, 2)
    assert client.list_executions("bulk-live") == [3]
    everything = client.prune_executions_bulk()
    assert everything.instances_processed == 3
    assert everything.executions_deleted == 1  # bulk-done's first execution
    assert client.list_executions("bulk-done") == [2]
    client.raise_event("bulk-live", "finish")
    assert wait_done(client, "bulk-live").output == 2


# ---- metrics -------------------------------------------------------------------------------


def test_system_metrics_and_orchestration_stats(mgmt):
    client, _ = mgmt
    empty = client.get_system_metrics()
    assert isinstance(empty, SystemMetrics)
    assert (empty.total_instances, empty.total_events) == (0, 0)
    run(client, "m-ok", "Echo", 1)
    run(client, "m-bad", "Fails", 1)
    run(client, "m-can", "Counter", {"i": 0, "n": 2})
    client.start_orchestration("m-live", "Waiter")
    assert wait_until(lambda: "m-live" in client.list_instances_by_status("Running"))

    metrics = client.get_system_metrics()
    assert metrics.total_instances == 4
    assert metrics.total_executions == 5
    assert (metrics.running_instances, metrics.completed_instances,
            metrics.failed_instances) == (1, 2, 1)
    expected_events = sum(client.get_execution_info(i, e).event_count
                          for i in client.list_all_instances()
                          for e in client.list_executions(i))
    assert metrics.total_events == expected_events

    assert client.get_orchestration_stats("nope") is None
    stats = client.get_orchestration_stats("m-can")
    assert isinstance(stats, SystemStats)
    assert stats.history_event_count == len(client.read_execution_history("m-can", 2))
    assert stats.history_size_bytes > 0
    assert stats.queue_pending_count == 0
    assert (stats.kv_user_key_count, stats.kv_total_value_bytes) == (1, 1)  # seen = "1"


def test_queue_depths(env):
    client = env.client
    depths = client.get_queue_depths()
    assert isinstance(depths, QueueDepths)
    assert (depths.orchestrator_queue, depths.worker_queue, depths.timer_queue) == (0, 0, 0)
    # Without a runtime, starts just wait in the orchestrator queue.
    for i in range(3):
        client.start_orchestration(f"q-{i}", "Sleeper")
    assert client.get_queue_depths().orchestrator_queue == 3

    rt = env.make_runtime(worker_concurrency=1)
    gate = threading.Event()

    @rt.register_activity("Block")
    def block(ctx, input):
        gate.wait(10)
        return input

    def sleeper(ctx, input):
        yield ctx.all([ctx.schedule_timer(600_000), ctx.schedule_activity("Block", 1)])

    rt.register_orchestration("Sleeper", sleeper)
    rt.start()
    try:
        # Each instance waits on a far timer and an activity; the one worker slot holds one
        # activity (locked: in flight, not pending), the other two wait in the worker queue.
        assert wait_until(lambda: (client.get_queue_depths().timer_queue,
                                   client.get_queue_depths().worker_queue) == (3, 2))
        assert client.get_queue_depths().orchestrator_queue == 0
    finally:
        gate.set()


def test_management_calls_release_the_gil(mgmt):
    client, _ = mgmt
    for i in range(20):
        client.start_orchestration(f"g-{i}", "Echo", i)
    errors = []

    def reader():
        try:
            for _ in range(30):
                client.list_all_instances()
                client.get_system_metrics()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    for i in range(20):
        assert wait_done(client, f"g-{i}").output == i
