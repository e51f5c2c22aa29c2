"""ClientAPI parity (tests/test_client_parity.py): listing, inspection, delete and prune, store metrics, the worker registry.

The stack and fixtures are in tests/helpers/parity.py.
"""

from __future__ import annotations

import json
from typing import Any, List

import pytest

pytest.importorskip("fastapi")

import duroxide  # noqa: E402
from duroxide.client.api import ClientAPI  # noqa: E402
from helpers.parity import (  # noqa: E402,F401  (fixtures are used by name)
    NEEDS_GPU, UGLY, WAIT, Stack, client, covers, kind, stack, subscribed, subscribed_to_queue,
    uid)
from helpers.util import wait_until  # noqa: E402


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


# ---- named limits (docs/flow-control.md) ----------------------------------------------------


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
