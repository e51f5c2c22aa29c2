"""Client: the ClientAPI in process, through the C++ core on a provider.

Each method adapts its arguments and calls one native object (every native call releases
the GIL):

* `_core.Client` (start, events, status, waits, KV, messaging),
* `_core.Management` (listing, inspection, deletion, pruning, metrics),
* the provider's native handle (the worker registry, task graphs, the task cache).

The docstrings are ClientAPI's (help() and inspect.getdoc find them there).
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import duroxide._telemetry as _telemetry
from duroxide import _core
from duroxide._common import check_name, dumps_value, loads_or_raw
from duroxide._providers import Provider, closed_native, is_closed
from duroxide.client.api import DEFAULT_TIMEOUT_MS, arguments
from duroxide.client.base import ClientBase, StartRequest
from duroxide.client.graph_view import build_graph_view
from duroxide.client.limits import Limit, LimitInfo, LimitStoreOps
from duroxide.client.operations import (
    BulkResult,
    PendingWork,
    current_events,
    derive_pending,
    plan_rerun,
    run_bulk,
)
from duroxide.client.results import (
    DeadLetter,
    OrchestrationResult,
    TaskGraph,
    TopicDetail,
    TopicInfo,
    TopicSubscriber,
    WaitingActivity,
    parse_status,
)
from duroxide.client.schedules import ScheduleInfo, ScheduleStoreOps
from duroxide.client.workers import QUEUED_LIMIT, UnservableWork, WorkerInfo, diagnose
from duroxide.errors import (
    ClosedError,
    InvalidArgumentError,
    InvalidTypeError,
    NotFoundError,
    OperationTimedOutError,
    RequestTargetNotFoundError,
    RequestTimedOutError,
)
from duroxide.workflow.graphs import TaskFunction
from duroxide.workflow.messages import DEFAULT_REQUEST_TIMEOUT_MS, check_timeout, reply_value

_dumps = dumps_value



def _traced(operation: str, instance_id: Optional[str], target: str,
            call: Callable[[str], Any]) -> Any:
    """Runs call(traceparent): with "" when not instrumented, else inside a client span whose
    W3C traceparent the store keeps with the start or message (duroxide._telemetry)."""
    hooks = _telemetry.hooks
    if hooks is None:
        return call("")
    return hooks.client_call(operation, instance_id, target, call)

class Client(ClientBase):
    """Talks to a provider: works with or without a Runtime in the same process."""

    def __init__(self, provider: Provider, *, max_payload_bytes: Optional[int] = None) -> None:
        """`max_payload_bytes` caps start inputs and event data this client sends (default
        duroxide.MAX_PAYLOAD_BYTES, 4 MiB; 0 disables the check); a larger payload raises
        InvalidArgumentError and nothing is written."""
        self._provider = provider
        attach = getattr(provider, "_attach", None)
        self._store: Any = attach(self) if attach is not None else provider._native
        self._native: Any = _core.Client(self._store)
        self._management: Any = _core.Management(self._store)
        if max_payload_bytes is not None:
            if (not isinstance(max_payload_bytes, int) or isinstance(max_payload_bytes, bool)
                    or max_payload_bytes < 0):
                raise InvalidArgumentError(
                    f"Client.max_payload_bytes must be an int >= 0, got {max_payload_bytes!r}")
            self._native.max_payload_bytes = max_payload_bytes

    # ---- resources -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return is_closed(self._native)

    def close(self) -> None:
        self._native = self._management = self._store = closed_native("Client")

    def __enter__(self) -> "Client":
        return self

    def _handle(self) -> Any:
        """The provider's native handle (for the calls made on the store itself)."""
        if is_closed(self._store):
            raise ClosedError("Client is closed")
        return self._store

    # ---- start, status, events -------------------------------------------------------------

    def _send_start(self, start: StartRequest) -> None:
        _traced("start_orchestration", start.instance_id, start.name,
                lambda tp: self._native.start_orchestration(
                    start.instance_id, start.name, start.payload, start.version,
                    start.if_exists, tp, start.priority, start.limit or "", start.limit_key))

    def get_status(self, instance_id: str) -> OrchestrationResult:
        return parse_status(self._native.get_status(instance_id))

    def wait_for_orchestration(self, instance_id: str,
                               timeout_ms: int = DEFAULT_TIMEOUT_MS) -> OrchestrationResult:
        return parse_status(self._native.wait_for_orchestration(instance_id, int(timeout_ms)))

    def wait_for_status_change(self, instance_id: str, last_seen_version: int = 0,
                               poll_interval_ms: int = 200,
                               timeout_ms: int = DEFAULT_TIMEOUT_MS
                               ) -> Optional[OrchestrationResult]:
        raw = self._native.wait_for_status_change(instance_id, int(last_seen_version),
                                                  int(poll_interval_ms), int(timeout_ms))
        return None if raw is None else parse_status(raw)

    def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        payload = _dumps(data, "raise_event data")
        _traced("raise_event", instance_id, event_name,
                lambda _tp: self._native.raise_event(instance_id, event_name, payload))

    def enqueue_event(self, instance_id: str, queue_name: str, data: Any = None) -> None:
        self._native.enqueue_event(instance_id, queue_name, _dumps(data, "enqueue_event data"))

    def cancel_instance(self, instance_id: str, reason: Optional[str] = None) -> None:
        self._native.cancel_instance(instance_id, "" if reason is None else str(reason))

    # ---- operating failed and stuck work (docs/operations.md) -----------------------------

    def suspend_instance(self, instance_id: str, reason: Optional[str] = None) -> None:
        self._native.suspend_instance(instance_id, "" if reason is None else str(reason))

    def resume_instance(self, instance_id: str, reason: Optional[str] = None) -> None:
        # The reason is for the caller's log; resuming keeps no record of it.
        self._native.resume_instance(instance_id)

    def terminate_instance(self, instance_id: str, reason: Optional[str] = None, *,
                           output: Any = None, recursive: bool = True) -> None:
        text = None if output is None else _dumps(output, "terminate_instance output")
        self._native.terminate_instance(instance_id, "" if reason is None else str(reason),
                                        text, bool(recursive))

    def rerun(self, instance_id: str, *, from_event_id: Optional[int] = None,
              new_instance_id: Optional[str] = None, input: Any = None) -> str:
        new_id, start_before, info = plan_rerun(self, instance_id, from_event_id,
                                                new_instance_id)
        text = None if input is None else _dumps(input, "rerun input")
        if start_before is None:  # a fresh start with the same input (or `input`)
            events = current_events(self, instance_id)
            original = events[0].get("input") if events else None
            self._native.start_orchestration(new_id, info.orchestration_name,
                                             text if text is not None else (original or "null"),
                                             info.orchestration_version)
        else:
            self._native.rerun(instance_id, new_id, int(start_before), text)
        return new_id

    def get_pending(self, instance_id: str) -> PendingWork:
        status = self.get_status(instance_id).status
        if status == "NotFound":
            from duroxide.errors import NotFoundError
            raise NotFoundError(f"Instance {instance_id} not found")
        rows = list(self._native.queue_rows(instance_id))
        executions = self.list_executions(instance_id)  # [] while only the start is queued
        history = self.read_execution_history(instance_id, executions[-1]) if executions else []
        return derive_pending(instance_id, status, history, rows)

    def bulk(self, action: str, *, status: Optional[str] = None, name: Optional[str] = None,
             id_prefix: Optional[str] = None, created_after_ms: Optional[int] = None,
             created_before_ms: Optional[int] = None, reason: Optional[str] = None,
             dry_run: bool = False) -> BulkResult:
        return run_bulk(self, action, status=status, name=name, id_prefix=id_prefix,
                        created_after_ms=created_after_ms, created_before_ms=created_before_ms,
                        reason=reason, dry_run=dry_run)

    # ---- KV --------------------------------------------------------------------------------

    def get_kv_value(self, instance_id: str, key: str) -> Optional[str]:
        value: Optional[str] = self._native.get_kv_value(instance_id, key)
        return value

    def wait_for_kv_value(self, instance_id: str, key: str,
                          timeout_ms: int = DEFAULT_TIMEOUT_MS) -> str:
        try:
            return str(self._native.wait_for_kv_value(instance_id, key, int(timeout_ms)))
        except OperationTimedOutError:
            raise OperationTimedOutError(
                f"Timed out waiting for value '{key}' on instance '{instance_id}'") from None

    def get_kv_all(self, instance_id: str) -> Dict[str, str]:
        values: Dict[str, str] = self._management.get_kv_all(instance_id)
        return values

    # ---- management --------------------------------------------------------------------------

    def list_all_instances(self) -> List[str]:
        return list(self._management.list_all_instances())

    def list_instances_by_status(self, status: str) -> List[str]:
        if status == "Suspended":
            return list(self._native.list_suspended())
        return list(self._management.list_instances_by_status(status))

    def get_instance_info(self, instance_id: str) -> _core.InstanceInfo:
        info: _core.InstanceInfo = self._management.get_instance_info(instance_id)
        return info

    def get_execution_info(self, instance_id: str, execution_id: int) -> _core.ExecutionInfo:
        info: _core.ExecutionInfo = self._management.get_execution_info(instance_id,
                                                                        int(execution_id))
        return info

    def list_executions(self, instance_id: str) -> List[int]:
        return list(self._management.list_executions(instance_id))

    def read_execution_history(self, instance_id: str,
                               execution_id: int) -> List[_core.Event]:
        return list(self._management.read_execution_history(instance_id, int(execution_id)))

    def get_instance_tree(self, instance_id: str) -> _core.InstanceTree:
        tree: _core.InstanceTree = self._management.get_instance_tree(instance_id)
        return tree

    def delete_instance(self, instance_id: str,
                        force: bool = False) -> _core.DeleteInstanceResult:
        result: _core.DeleteInstanceResult = self._management.delete_instance(instance_id,
                                                                              bool(force))
        return result

    def delete_instance_bulk(self, filter: Optional[_core.InstanceFilter] = None
                             ) -> _core.DeleteInstanceResult:
        result: _core.DeleteInstanceResult = self._management.delete_instance_bulk(
            _core.InstanceFilter() if filter is None else filter)
        return result

    def prune_executions(self, instance_id: str, options: Optional[_core.PruneOptions] = None
                         ) -> _core.PruneResult:
        result: _core.PruneResult = self._management.prune_executions(
            instance_id, _core.PruneOptions() if options is None else options)
        return result

    def prune_executions_bulk(self, filter: Optional[_core.InstanceFilter] = None,
                              options: Optional[_core.PruneOptions] = None
                              ) -> _core.PruneResult:
        result: _core.PruneResult = self._management.prune_executions_bulk(
            _core.InstanceFilter() if filter is None else filter,
            _core.PruneOptions() if options is None else options)
        return result

    def get_system_metrics(self) -> _core.SystemMetrics:
        metrics: _core.SystemMetrics = self._management.get_system_metrics()
        return metrics

    def get_queue_depths(self) -> _core.QueueDepths:
        depths: _core.QueueDepths = self._management.get_queue_depths()
        return depths

    def get_orchestration_stats(self, instance_id: str) -> Optional[_core.SystemStats]:
        stats: Optional[_core.SystemStats] = self._management.get_orchestration_stats(
            instance_id)
        return stats

    # ---- the worker registry -------------------------------------------------------------------

    def list_workers(self) -> List[WorkerInfo]:
        return [WorkerInfo(raw) for raw in _core.fleet_list_workers(self._handle())]

    def drain_worker(self, name_or_id: str) -> WorkerInfo:
        if not isinstance(name_or_id, str) or not name_or_id:
            raise InvalidTypeError(
                f"drain_worker: name_or_id must be a non-empty str, got {name_or_id!r}")
        return self.get_worker(str(_core.fleet_drain_worker(self._handle(), name_or_id)))

    def prune_workers(self, retention_ms: int) -> int:
        if not isinstance(retention_ms, int) or isinstance(retention_ms, bool) or retention_ms < 0:
            raise InvalidArgumentError(f"retention_ms must be an int >= 0, got {retention_ms!r}")
        cutoff = int(_core.now_ms()) - retention_ms
        return int(_core.fleet_prune_workers(self._handle(), cutoff))

    def list_unservable_work(self) -> List[UnservableWork]:
        queued: List[Dict[str, Any]] = list(_core.fleet_list_queued_work(self._handle(),
                                                                          QUEUED_LIMIT))
        return diagnose(self.list_workers(), queued, int(_core.now_ms()))

    # ---- durable schedules (schedules.py) ------------------------------------------------------

    def _schedules(self) -> ScheduleStoreOps:
        return ScheduleStoreOps(self._handle())

    def create_schedule(self, schedule_id: str, orchestration: str, input: Any = None,
                        **options: Any) -> ScheduleInfo:
        # The options (cron, every_ms, ...) as ClientAPI.create_schedule declares them.
        return self._schedules().create(
            arguments("create_schedule", schedule_id, orchestration, input, **options))

    def get_schedule(self, schedule_id: str) -> ScheduleInfo:
        return self._schedules().get(schedule_id)

    def list_schedules(self) -> List[ScheduleInfo]:
        return self._schedules().list()

    def update_schedule(self, schedule_id: str, **fields: Any) -> ScheduleInfo:
        return self._schedules().update(schedule_id, fields)

    def pause_schedule(self, schedule_id: str, note: Optional[str] = None) -> ScheduleInfo:
        fields: Dict[str, Any] = {"paused": True}
        if note is not None:
            fields["note"] = note
        return self._schedules().update(schedule_id, fields)

    def resume_schedule(self, schedule_id: str) -> ScheduleInfo:
        return self._schedules().update(schedule_id, {"paused": False})

    def trigger_schedule(self, schedule_id: str) -> str:
        return self._schedules().trigger(schedule_id)

    def backfill_schedule(self, schedule_id: str, start_ms: int, end_ms: int) -> List[str]:
        return self._schedules().backfill(schedule_id, start_ms, end_ms)

    def delete_schedule(self, schedule_id: str) -> None:
        self._schedules().delete(schedule_id)

    # ---- named limits (limits.py) --------------------------------------------------------------

    def set_limit(self, name: str, limit: Limit) -> None:
        LimitStoreOps(self._handle()).set(name, limit)

    def get_limit(self, name: str) -> LimitInfo:
        return LimitStoreOps(self._handle()).get(name)

    def list_limits(self) -> List[LimitInfo]:
        return LimitStoreOps(self._handle()).list()

    def delete_limit(self, name: str) -> None:
        LimitStoreOps(self._handle()).delete(name)

    # ---- messaging ----------------------------------------------------------------------------

    def send_message(self, instance_id: str, queue: str, data: Any = None) -> str:
        check_name(instance_id, "send_message: instance_id")
        check_name(queue, "send_message: queue")
        payload = _dumps(data, "send_message data")
        return str(_traced("send_message", instance_id, queue,
                           lambda tp: self._native.send_message(instance_id, queue, payload, tp)))

    def publish_event(self, topic: str, data: Any = None) -> int:
        check_name(topic, "publish_event: topic")
        payload = _dumps(data, "publish_event data")
        return int(_traced("publish_event", None, topic,
                           lambda tp: self._native.publish_event(topic, payload, tp)))

    def request(self, instance_id: str, operation: str, data: Any = None,
                timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS) -> Any:
        check_name(instance_id, "request: instance_id")
        check_name(operation, "request: operation")
        check_timeout(timeout_ms, "request")
        payload = _dumps(data, "request data")
        try:
            _, reply = _traced("request", instance_id, operation,
                               lambda tp: self._native.request(instance_id, operation, payload,
                                                               int(timeout_ms), tp))
        except NotFoundError:
            # The core found no such instance (and it is no actor, which a request starts):
            # nothing was sent. A RequestFailedError, as before, and a NotFoundError (404).
            raise RequestTargetNotFoundError(
                f"request '{operation}' to '{instance_id}' failed: instance '{instance_id}' "
                "does not exist") from None
        if reply is None:
            raise RequestTimedOutError(
                f"request '{operation}' to '{instance_id}' timed out after {timeout_ms} ms")
        return reply_value(reply, instance_id, operation)

    def list_dead_letters(self, instance_id: Optional[str] = None) -> List[DeadLetter]:
        out = []
        for row in self._native.list_dead_letters(instance_id):
            meta = loads_or_raw(row["meta"]) if row["meta"] else {}
            meta = meta if isinstance(meta, dict) else {}
            out.append(DeadLetter(row["id"], row["instance_id"], row["queue"],
                                  loads_or_raw(row["data"]), row["reason"], row["created_at_ms"],
                                  meta.get("sender"), meta.get("message_id")))
        return out

    def redeliver_dead_letter(self, id: int) -> None:
        self._native.redeliver_dead_letter(int(id))

    def purge_dead_letters(self, instance_id: Optional[str] = None,
                           before_ms: Optional[int] = None,
                           ids: Optional[Sequence[int]] = None) -> int:
        return int(self._native.purge_dead_letters(
            instance_id, None if before_ms is None else int(before_ms),
            [int(i) for i in (ids or [])]))

    def list_topics(self) -> List[TopicInfo]:
        return [TopicInfo(t, subs, backlog, last)
                for (t, last, subs, backlog) in self._native.list_topics()]

    def get_topic(self, topic: str) -> TopicDetail:
        check_name(topic, "get_topic: topic")
        (name, last, _count, backlog), rows = self._native.get_topic(topic)
        subs = [TopicSubscriber(i, c, lag, at) for (i, c, lag, at) in rows]
        return TopicDetail(name, subs, backlog, last)

    # ---- task graphs, the task cache, capability-routed work ------------------------------------

    def get_graph(self, instance_id: str) -> TaskGraph:
        raw = _core._read_history_json(self._handle(), instance_id, 0)
        return build_graph_view(instance_id, [json.loads(t) for t in raw])

    def clear_task_cache(self, task: Union[str, TaskFunction, None] = None) -> int:
        name = task if task is None or isinstance(task, str) else str(getattr(task, "name", task))
        return int(_core._task_cache_clear(self._handle(), name))

    def list_waiting_activities(self, min_wait_ms: int = 0,
                                limit: int = 1000) -> List[WaitingActivity]:
        now = int(time.time() * 1000)
        rows = _core._list_waiting_activities(self._handle(), int(min_wait_ms), int(limit))
        out: List[WaitingActivity] = []
        for row in rows:
            item = dict(row)
            item["schema"] = loads_or_raw(item["schema"]) if item["schema"] else None
            item["waiting_ms"] = max(0, now - int(item["waiting_since_ms"]))
            item.update(reason="capability", limit=None, limit_key=None)
            out.append(WaitingActivity(**item))  # type: ignore[typeddict-item]
        for w in LimitStoreOps(self._handle()).waiting(int(min_wait_ms), int(limit)):
            out.append(WaitingActivity(
                instance_id=w["instance_id"], execution_id=w["execution_id"],
                activity_id=w["activity_id"], name=w["name"], schema=None, schema_hash="",
                waiting_since_ms=w["waiting_since_ms"],
                waiting_ms=max(0, now - int(w["waiting_since_ms"])), deadline_ms=0,
                reason="limit" if w["defined"] else "undefined_limit", limit=w["limit"],
                limit_key=w["limit_key"] or None))
        out.sort(key=lambda w: w["waiting_since_ms"])
        return out[:int(limit)]
