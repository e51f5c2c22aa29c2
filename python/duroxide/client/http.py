"""HttpClient: the ClientAPI over the REST API of `duroxide server` (docs/server.md).

Every operation of ClientAPI, with the same return types and exceptions as Client, so a
program (or `duroxide --url`) drives a remote store without its credentials. Ids travel as
~XX-escaped path segments (`_common.quote_id`), so any valid id works through any proxy.
The transport (connections, long-polls, problem documents to exceptions) is transport.py.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Union, cast

from duroxide import _core, errors
from duroxide._common import check_json
from duroxide.client import results
from duroxide.client.api import DEFAULT_TIMEOUT_MS, arguments
from duroxide.client.base import ClientBase, StartRequest
from duroxide.client.limits import Limit, LimitInfo, check_limit, check_limit_name
from duroxide.client.operations import (
    BulkResult,
    PendingWork,
    bulk_from_json,
    check_bulk_action,
    pending_from_json,
)
from duroxide.client.results import OrchestrationResult
from duroxide.client.schedules import ScheduleInfo, check_schedule_id
from duroxide.client.transport import Transport, path
from duroxide.client.workers import UnservableWork, WorkerInfo
from duroxide.workflow.graphs import TaskFunction
from duroxide.workflow.messages import DEFAULT_REQUEST_TIMEOUT_MS

_STATUSES = ("Running", "Completed", "Failed", "ContinuedAsNew", "Suspended")


def _instance(instance_id: str, *rest: str) -> str:
    return path("instances", "{}", *rest, ids=(instance_id,))


def _schedule(schedule_id: str, *rest: str) -> str:
    check_schedule_id(schedule_id)
    return path("schedules", "{}", *rest, ids=(schedule_id,))


def _limit(name: str) -> str:
    check_limit_name(name)
    return path("limits", "{}", ids=(name,))


def _status(data: Dict[str, Any]) -> OrchestrationResult:
    return OrchestrationResult(data["status"], data.get("output"), data.get("error"),
                               data.get("custom_status"), data.get("custom_status_version", 0))


def _filter(filter: Optional[_core.InstanceFilter]) -> Dict[str, Any]:
    if filter is None:
        return {}
    ids = filter.instance_ids
    return {"instance_ids": None if ids is None else list(ids),
            "completed_before": filter.completed_before, "limit": filter.limit}


def _options(options: Optional[_core.PruneOptions]) -> Dict[str, Any]:
    if options is None:
        return {}
    return {"keep_last": options.keep_last, "completed_before": options.completed_before}


class HttpClient(ClientBase):
    """A Client that talks to a duroxide server.

    Args:
        url: the server, e.g. "http://host:8200" (http or https; a path prefix is kept).
        token: the bearer token, when the server has one.
        timeout_s: socket timeout of ordinary requests (long-polls add their own wait).
    """

    def __init__(self, url: str, token: Optional[str] = None, timeout_s: float = 30.0):
        self._http = Transport(url, token, timeout_s)
        self.url = self._http.url

    def _get(self, target: str, **query: Any) -> Any:
        return self._http.request("GET", target, query=query)[1]

    def _post(self, target: str, body: Any = None, **query: Any) -> Any:
        return self._http.request("POST", target, body, query=query)[1]

    # ---- resources -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._http.closed

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "HttpClient":
        return self

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    # ---- start, status, events -------------------------------------------------------------

    def _send_start(self, start: StartRequest) -> None:
        if not start.instance_id:  # the server would make one up; Client refuses an empty id
            raise errors.InvalidArgumentError(
                "start_orchestration: Invalid input: instance id is empty")
        body: Dict[str, Any] = {"instance_id": start.instance_id, "name": start.name,
                                "input": start.input, "if_exists": start.if_exists,
                                "priority": start.priority}
        optional = {"version": start.version, "limit": start.limit,
                    "limit_key": start.limit_key or None}  # a key comes with a limit
        body.update((key, value) for key, value in optional.items() if value is not None)
        self._post("/v1/instances", body)

    def get_status(self, instance_id: str) -> OrchestrationResult:
        try:
            return _status(self._get(_instance(instance_id, "status")))
        except errors.NotFoundError:
            return OrchestrationResult("NotFound")

    def wait_for_orchestration(self, instance_id: str,
                               timeout_ms: int = DEFAULT_TIMEOUT_MS) -> OrchestrationResult:
        return _status(self._http.long_poll(_instance(instance_id, "wait"), timeout_ms,
                                            "Operation timed out"))

    def wait_for_status_change(self, instance_id: str, last_seen_version: int = 0,
                               poll_interval_ms: int = 200,
                               timeout_ms: int = DEFAULT_TIMEOUT_MS
                               ) -> Optional[OrchestrationResult]:
        # poll_interval_ms is the server's business here: it waits on the store's signals.
        try:
            data = self._http.long_poll(_instance(instance_id, "status"), timeout_ms,
                                        "Operation timed out",
                                        {"after_version": int(last_seen_version)})
        except errors.OperationTimedOutError:
            return None
        return _status(data)

    def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        body = {"name": event_name, "data": check_json(data, "raise_event data")}
        self._deliver(_instance(instance_id, "events"), body)

    def enqueue_event(self, instance_id: str, queue_name: str, data: Any = None) -> None:
        body = {"data": check_json(data, "enqueue_event data")}
        target = path("instances", "{}", "queues", "{}", ids=(instance_id, queue_name))
        self._deliver(target, body)

    def _deliver(self, target: str, body: Dict[str, Any]) -> None:
        """Client drops an event for an unknown or ended instance silently; the REST API
        answers 404 or 409 (failed-precondition) so that its callers learn it."""
        try:
            self._post(target, body)
        except (errors.NotFoundError, errors.FailedPreconditionError):
            return

    def cancel_instance(self, instance_id: str, reason: Optional[str] = None) -> None:
        try:
            self._post(_instance(instance_id, "cancel"),
                       {"reason": None if reason is None else str(reason)})
        except errors.NotFoundError:
            return

    # ---- operating failed and stuck work (docs/operations.md) -----------------------------

    def suspend_instance(self, instance_id: str, reason: Optional[str] = None) -> None:
        self._post(_instance(instance_id, "suspend"),
                   {"reason": None if reason is None else str(reason)})

    def resume_instance(self, instance_id: str, reason: Optional[str] = None) -> None:
        self._post(_instance(instance_id, "resume"),
                   {"reason": None if reason is None else str(reason)})

    def terminate_instance(self, instance_id: str, reason: Optional[str] = None, *,
                           output: Any = None, recursive: bool = True) -> None:
        check_json(output, "terminate_instance output")
        self._post(_instance(instance_id, "terminate"),
                   {"reason": None if reason is None else str(reason), "output": output,
                    "recursive": bool(recursive)})

    def rerun(self, instance_id: str, *, from_event_id: Optional[int] = None,
              new_instance_id: Optional[str] = None, input: Any = None) -> str:
        check_json(input, "rerun input")
        body = self._post(_instance(instance_id, "rerun"),
                          {"from_event_id": from_event_id, "new_instance_id": new_instance_id,
                           "input": input})
        return str(body["instance_id"])

    def get_pending(self, instance_id: str) -> PendingWork:
        return pending_from_json(self._get(_instance(instance_id, "pending")))

    def bulk(self, action: str, *, status: Optional[str] = None, name: Optional[str] = None,
             id_prefix: Optional[str] = None, created_after_ms: Optional[int] = None,
             created_before_ms: Optional[int] = None, reason: Optional[str] = None,
             dry_run: bool = False) -> BulkResult:
        check_bulk_action(action)
        return bulk_from_json(self._post("/v1/bulk", {
            "action": action, "status": status, "name": name, "id_prefix": id_prefix,
            "created_after_ms": created_after_ms, "created_before_ms": created_before_ms,
            "reason": reason, "dry_run": bool(dry_run)}))

    # ---- KV --------------------------------------------------------------------------------

    def get_kv_value(self, instance_id: str, key: str) -> Optional[str]:
        try:
            data = self._get(path("instances", "{}", "kv", "{}", ids=(instance_id, key)))
        except errors.NotFoundError:
            return None
        return str(data["value"])

    def wait_for_kv_value(self, instance_id: str, key: str,
                          timeout_ms: int = DEFAULT_TIMEOUT_MS) -> str:
        data = self._http.long_poll(
            path("instances", "{}", "kv", "{}", ids=(instance_id, key)), timeout_ms,
            f"Timed out waiting for value '{key}' on instance '{instance_id}'", {"wait": True})
        return str(data["value"])

    def get_kv_all(self, instance_id: str) -> Dict[str, str]:
        try:
            data = self._get(_instance(instance_id, "kv"))
        except errors.NotFoundError:
            return {}
        return cast(Dict[str, str], data["values"])

    # ---- management --------------------------------------------------------------------------

    def _list_ids(self, status: Optional[str]) -> List[str]:
        ids: List[str] = []
        cursor = None
        while True:
            page = self._get("/v1/instances", status=status, limit=1000, cursor=cursor)
            ids += [item["instance_id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return ids

    def list_all_instances(self) -> List[str]:
        return self._list_ids(None)

    def list_instances_by_status(self, status: str) -> List[str]:
        if status not in _STATUSES:
            return []  # as Client: any other text matches nothing
        return self._list_ids(status)

    def get_instance_info(self, instance_id: str) -> _core.InstanceInfo:
        data = self._get(_instance(instance_id))
        if data["status"] == "Pending":  # the start is queued: Client has no info yet either
            raise errors.NotFoundError(f"Instance {instance_id} not found")
        info = _core.InstanceInfo()
        for name in ("instance_id", "orchestration_name", "orchestration_version",
                     "current_execution_id", "status", "created_at", "updated_at",
                     "parent_instance_id"):
            setattr(info, name, data[name])
        info.output = data["stored_output"]
        return info

    def get_execution_info(self, instance_id: str, execution_id: int) -> _core.ExecutionInfo:
        data = self._get(_instance(instance_id, "executions", str(int(execution_id))))
        info = _core.ExecutionInfo()
        for name, value in data.items():
            setattr(info, name, value)
        return info

    def list_executions(self, instance_id: str) -> List[int]:
        try:
            data = self._get(_instance(instance_id))
        except errors.NotFoundError:
            return []
        return cast(List[int], data["executions"])

    def read_execution_history(self, instance_id: str,
                               execution_id: int) -> List[_core.Event]:
        events = self._get(_instance(instance_id, "executions", str(int(execution_id)),
                                     "history"), raw=True)
        # `traceback` is derived from `data` for readers of the JSON; Event has it in data.
        return [_core.Event(**{k: v for k, v in event.items() if k != "traceback"})
                for event in events]

    def get_instance_tree(self, instance_id: str) -> _core.InstanceTree:
        data = self._get(_instance(instance_id, "tree"))
        return _core.InstanceTree(root_id=data["root_id"], all_ids=data["all_ids"])

    def delete_instance(self, instance_id: str,
                        force: bool = False) -> _core.DeleteInstanceResult:
        data = self._http.request("DELETE", _instance(instance_id),
                                  query={"force": bool(force)})[1]
        return _core.DeleteInstanceResult(**data)

    def delete_instance_bulk(self, filter: Optional[_core.InstanceFilter] = None
                             ) -> _core.DeleteInstanceResult:
        return _core.DeleteInstanceResult(**self._post("/v1/instances/bulk-delete",
                                                       _filter(filter)))

    def prune_executions(self, instance_id: str, options: Optional[_core.PruneOptions] = None
                         ) -> _core.PruneResult:
        return _core.PruneResult(**self._post(_instance(instance_id, "prune"),
                                              _options(options)))

    def prune_executions_bulk(self, filter: Optional[_core.InstanceFilter] = None,
                              options: Optional[_core.PruneOptions] = None
                              ) -> _core.PruneResult:
        body = {"filter": _filter(filter), "options": _options(options)}
        return _core.PruneResult(**self._post("/v1/instances/bulk-prune", body))

    def get_system_metrics(self) -> _core.SystemMetrics:
        return _core.SystemMetrics(**self._get("/v1/metrics")["system"])

    def get_queue_depths(self) -> _core.QueueDepths:
        return _core.QueueDepths(**self._get("/v1/queues"))

    def get_orchestration_stats(self, instance_id: str) -> Optional[_core.SystemStats]:
        try:
            return _core.SystemStats(**self._get(_instance(instance_id, "stats")))
        except errors.NotFoundError:
            return None

    # ---- the worker registry -------------------------------------------------------------------

    def list_workers(self) -> List[WorkerInfo]:
        return [WorkerInfo.from_dict(w) for w in self._get("/v1/workers")]

    def drain_worker(self, name_or_id: str) -> WorkerInfo:
        if not isinstance(name_or_id, str) or not name_or_id:
            raise errors.InvalidTypeError(
                f"drain_worker: name_or_id must be a non-empty str, got {name_or_id!r}")
        return WorkerInfo.from_dict(
            self._post(path("workers", "{}", "drain", ids=(name_or_id,))))

    def prune_workers(self, retention_ms: int) -> int:
        if not isinstance(retention_ms, int) or isinstance(retention_ms, bool) or retention_ms < 0:
            raise errors.InvalidArgumentError(
                f"retention_ms must be an int >= 0, got {retention_ms!r}")
        return int(self._post("/v1/workers/prune", {"retention_ms": retention_ms})["pruned"])

    def list_unservable_work(self) -> List[UnservableWork]:
        return [UnservableWork.from_dict(u) for u in self._get("/v1/unservable-work")]

    # ---- durable schedules ---------------------------------------------------------------------

    def create_schedule(self, schedule_id: str, orchestration: str, input: Any = None,
                        **options: Any) -> ScheduleInfo:
        # The options (cron, every_ms, ...) as ClientAPI.create_schedule declares them.
        body = arguments("create_schedule", schedule_id, orchestration, input, **options)
        body["input"] = check_json(input, "create_schedule input")
        return ScheduleInfo.from_dict(self._post("/v1/schedules", body))

    def get_schedule(self, schedule_id: str) -> ScheduleInfo:
        return ScheduleInfo.from_dict(self._get(_schedule(schedule_id)))

    def list_schedules(self) -> List[ScheduleInfo]:
        return [ScheduleInfo.from_dict(s) for s in self._get("/v1/schedules")]

    def update_schedule(self, schedule_id: str, **fields: Any) -> ScheduleInfo:
        if "input" in fields:
            check_json(fields["input"], "update_schedule input")
        return ScheduleInfo.from_dict(
            self._http.request("PATCH", _schedule(schedule_id), fields)[1])

    def pause_schedule(self, schedule_id: str, note: Optional[str] = None) -> ScheduleInfo:
        return ScheduleInfo.from_dict(self._post(_schedule(schedule_id, "pause"),
                                                 {"note": note}))

    def resume_schedule(self, schedule_id: str) -> ScheduleInfo:
        return ScheduleInfo.from_dict(self._post(_schedule(schedule_id, "resume")))

    def trigger_schedule(self, schedule_id: str) -> str:
        return str(self._post(_schedule(schedule_id, "trigger"))["instance_id"])

    def backfill_schedule(self, schedule_id: str, start_ms: int, end_ms: int) -> List[str]:
        body = {"start_ms": start_ms, "end_ms": end_ms}
        return [str(i) for i in self._post(_schedule(schedule_id, "backfill"), body)[
            "instance_ids"]]

    def delete_schedule(self, schedule_id: str) -> None:
        self._http.request("DELETE", _schedule(schedule_id))

    # ---- named limits ---------------------------------------------------------------------------

    def set_limit(self, name: str, limit: Limit) -> None:
        target = _limit(name)
        self._http.request("PUT", target, check_limit(limit).to_dict())

    def get_limit(self, name: str) -> LimitInfo:
        return LimitInfo.from_dict(self._get(_limit(name)))

    def list_limits(self) -> List[LimitInfo]:
        return [LimitInfo.from_dict(i) for i in self._get("/v1/limits")]

    def delete_limit(self, name: str) -> None:
        self._http.request("DELETE", _limit(name))

    # ---- messaging ----------------------------------------------------------------------------

    def send_message(self, instance_id: str, queue: str, data: Any = None) -> str:
        body = {"instance_id": instance_id, "queue": queue,
                "data": check_json(data, "send_message data")}
        return str(self._post("/v1/messages", body)["message_id"])

    def publish_event(self, topic: str, data: Any = None) -> int:
        body = {"data": check_json(data, "publish_event data")}
        return int(self._post(path("topics", "{}", "events", ids=(topic,)), body)["seq"])

    def request(self, instance_id: str, operation: str, data: Any = None,
                timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS) -> Any:
        body = {"instance_id": instance_id, "operation": operation,
                "data": check_json(data, "request data"), "timeout_ms": int(timeout_ms)}
        return self._http.request("POST", "/v1/requests", body,
                                  wait_ms=int(timeout_ms))[1]["value"]

    def list_dead_letters(self, instance_id: Optional[str] = None) -> List[results.DeadLetter]:
        return [results.DeadLetter(r["id"], r["instance_id"], r["queue"], r.get("data"),
                                   r["reason"], r.get("created_at_ms", 0), r.get("sender"),
                                   r.get("message_id"))
                for r in self._get("/v1/dead-letters", instance_id=instance_id)]

    def redeliver_dead_letter(self, id: int) -> None:
        self._post(f"/v1/dead-letters/{int(id)}/redeliver")

    def purge_dead_letters(self, instance_id: Optional[str] = None,
                           before_ms: Optional[int] = None,
                           ids: Optional[Sequence[int]] = None) -> int:
        query = {"instance_id": instance_id, "before_ms": before_ms,
                 "ids": None if ids is None else [int(i) for i in ids]}
        return int(self._http.request("DELETE", "/v1/dead-letters", query=query)[1]["purged"])

    def list_topics(self) -> List[results.TopicInfo]:
        return [results.TopicInfo(t["topic"], t["subscribers"], t["backlog"], t["last_seq"])
                for t in self._get("/v1/topics")]

    def get_topic(self, topic: str) -> results.TopicDetail:
        t = self._get(path("topics", "{}", ids=(topic,)))
        subscribers = [results.TopicSubscriber(s["instance_id"], s["cursor"], s["lag"],
                                               s["subscribed_at_ms"]) for s in t["subscribers"]]
        return results.TopicDetail(t["topic"], subscribers, t["backlog"], t["last_seq"])

    def list_actors(self, actor_type: Optional[str] = None) -> List[results.ActorInfo]:
        # One request instead of ClientBase's status read per instance.
        return [results.ActorInfo(a["actor_type"], a["key"], a["instance_id"], a["status"])
                for a in self._get("/v1/actors", actor_type=actor_type)]

    # ---- task graphs, the task cache, capability-routed work ------------------------------------

    def get_graph(self, instance_id: str) -> results.TaskGraph:
        try:
            data = self._get(_instance(instance_id, "graph"))
        except errors.NotFoundError:  # unknown, or not a graph: Client shows no nodes either
            return results.TaskGraph(instance_id=instance_id, nodes=[], edges=[])
        data["edges"] = [tuple(edge) for edge in data["edges"]]
        return cast(results.TaskGraph, data)

    def clear_task_cache(self, task: Union[str, TaskFunction, None] = None) -> int:
        name = task if task is None or isinstance(task, str) else str(getattr(task, "name", task))
        return int(self._http.request("DELETE", "/v1/task-cache",
                                      query={"task": name})[1]["removed"])

    def list_waiting_activities(self, min_wait_ms: int = 0,
                                limit: int = 1000) -> List[results.WaitingActivity]:
        rows = self._get("/v1/waiting-activities", min_wait_ms=int(min_wait_ms),
                         limit=int(limit))
        return [cast(results.WaitingActivity, row) for row in rows]
