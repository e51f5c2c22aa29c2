"""The orchestration context and the task descriptors it builds.

`OrchestrationContext` methods build the task descriptors that orchestration generators
yield (the exact dict shapes of the duroxide Python API), and forward fire-and-forget calls
(custom status, KV, tracing) to the native turn host. `parse_result` unwraps the ok/err items
of joined results. What activities receive is duroxide.worker.activity.ActivityContext.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from duroxide._common import dumps_value, loads_or_raw, normalize_retry
from duroxide.errors import InvalidArgumentError, InvalidTypeError, TaskFailedError
from duroxide.workflow.flow import check_priority, limit_fields
from duroxide.workflow.graphs import TaskHandle
from duroxide.workflow.messaging import MessagingContextMixin
from duroxide.workflow.requirements import routing_fields
from duroxide.workflow.tasks import Task as Task  # re-exported: the descriptor type

# What orchestrations yield or await: a task descriptor (an awaitable dict, workflow/tasks.py).


_dumps = dumps_value


def _typed_input(value: Any, what: str) -> str:
    """Typed variants pass a str through unchanged (already-serialized JSON)."""
    if isinstance(value, str):
        return value
    return _dumps(value, what)


class ScheduledTask(Task):
    """An activity descriptor that can be routed to tagged workers with `.with_tag()`."""

    def with_tag(self, tag: str) -> "ScheduledTask":
        """Routes the activity to workers whose tag filter accepts `tag`; returns self."""
        if not isinstance(tag, str):
            raise InvalidTypeError(f"with_tag: tag must be a str, not {type(tag).__name__}")
        self["tag"] = tag
        return self


class JoinTask(Task):
    """What ctx.all() returns: a join descriptor, chainable with .then() when it holds
    task-graph handles (like Promise.all([...]).then(zip))."""

    def then(self, task: Any) -> Any:
        """A handle of `task` called with the list of this join's results."""
        items = self["tasks"]
        if not all(isinstance(t, TaskHandle) for t in items):
            raise InvalidTypeError("ctx.all([...]).then(task) needs task-graph handles only")
        return task(list(items))


class TracingMixin:
    """`ctx.trace_*` of both contexts: a record on logger duroxide.orchestration or
    duroxide.activity, through the native host or handle `_tracer()` returns (None: dropped)."""

    def _tracer(self) -> Any:
        raise NotImplementedError

    def trace_info(self, message: Any) -> None:
        self._trace("info", message)

    def trace_warn(self, message: Any) -> None:
        self._trace("warn", message)

    def trace_error(self, message: Any) -> None:
        self._trace("error", message)

    def trace_debug(self, message: Any) -> None:
        self._trace("debug", message)

    def _trace(self, level: str, message: Any) -> None:
        tracer = self._tracer()
        if tracer is not None:
            tracer.trace(level, str(message))


class OrchestrationContext(MessagingContextMixin, TracingMixin):
    """The `ctx` an orchestration generator receives.

    Scheduling methods return task descriptors to `yield` (generator orchestrations) or
    `await` (async def orchestrations); they do nothing until yielded or awaited.
    """

    def __init__(self, ctx_info: Dict[str, Any]) -> None:
        self.instance_id: str = ctx_info["instanceId"]
        self.execution_id: int = ctx_info["executionId"]
        self.orchestration_name: str = ctx_info["orchestrationName"]
        self.orchestration_version: str = ctx_info["orchestrationVersion"]
        # What the core passes beyond the public fields (trace context, start time, parent):
        # read by an installed instrumentation (duroxide._telemetry).
        self._info = ctx_info
        self._host = ctx_info.get("_host")

    # ---- activities ---------------------------------------------------------------------
    def schedule_activity(self, name: str, input: Any = None, session_id: Optional[str] = None,
                          *, requires: Any = None,
                          requires_timeout_ms: Optional[int] = None,
                          priority: int = 0, limit: Optional[str] = None,
                          limit_key: Optional[str] = None) -> "ScheduledTask":
        """Schedules activity `name`; yields its return value (raises if it failed).

        `requires` (a JSON Schema, draft 2020-12) routes it to workers whose capabilities
        satisfy the schema (it wins over the schema given at registration);
        `requires_timeout_ms` fails it if no capable worker takes it in time. `priority`
        (0-9, higher first, FIFO within a priority, aged: docs/flow-control.md) orders it
        among the activities waiting to be claimed. `limit` names a limit (set_limit) the claim
        respects fleet-wide (it wins over register_activity(limit=)); `limit_key` is the key
        it counts under when the limit is per key. A session-bound activity takes no limit.
        """
        what = f"schedule_activity('{name}')"
        encoded = _dumps(input, what + " input")
        routing = routing_fields(name, requires, requires_timeout_ms, what)
        level = check_priority(priority, what)
        if session_id is not None:
            if limit is not None or limit_key is not None:
                raise InvalidArgumentError(f"{what}: limit cannot be combined with session_id")
            task = self.schedule_activity_on_session(name, input, session_id)
        else:
            task = ScheduledTask(type="activity", name=name, input=encoded)
            task.update(limit_fields(name, limit, limit_key, what))
        task.update(routing)
        if level:
            task["priority"] = level
        return task

    def schedule_activity_on_session(self, name: str, input: Any, session_id: str) -> ScheduledTask:
        """Schedules an activity pinned to the worker that owns `session_id`."""
        if not isinstance(session_id, str):
            raise InvalidTypeError("schedule_activity_on_session: session_id must be a str")
        task = ScheduledTask(
            type="activityWithSession",
            name=name,
            input=_dumps(input, f"schedule_activity_on_session('{name}') input"),
            sessionId=session_id,
        )
        task.update(routing_fields(name, None, None, f"schedule_activity_on_session('{name}')"))
        return task

    def schedule_activity_with_retry(self, name: str, input: Any, retry: Dict[str, Any], *,
                                     requires: Any = None,
                                     requires_timeout_ms: Optional[int] = None,
                                     priority: int = 0, limit: Optional[str] = None,
                                     limit_key: Optional[str] = None) -> "ScheduledTask":
        """Schedules an activity retried per `retry` (max_attempts, backoff, timeouts,
        prefer_different_worker); `requires`, `priority`, `limit` and `limit_key` (every
        attempt) as for schedule_activity."""
        what = f"schedule_activity_with_retry('{name}')"
        task = ScheduledTask(
            type="activityWithRetry",
            name=name,
            input=_dumps(input, what + " input"),
            retry=normalize_retry(retry, what),
        )
        task.update(routing_fields(name, requires, requires_timeout_ms, what))
        task.update(limit_fields(name, limit, limit_key, what))
        level = check_priority(priority, what)
        if level:
            task["priority"] = level
        return task

    def schedule_activity_with_retry_on_session(
        self, name: str, input: Any, retry: Dict[str, Any], session_id: str
    ) -> ScheduledTask:
        """Retry policy plus session affinity: every attempt runs on the same session."""
        what = f"schedule_activity_with_retry_on_session('{name}')"
        if not isinstance(session_id, str):
            raise InvalidTypeError(what + ": session_id must be a str")
        task = ScheduledTask(
            type="activityWithRetryOnSession",
            name=name,
            input=_dumps(input, what + " input"),
            retry=normalize_retry(retry, what),
            sessionId=session_id,
        )
        task.update(routing_fields(name, None, None, what))
        return task

    # ---- timers and events --------------------------------------------------------------
    def schedule_timer(self, delay_ms: int) -> Task:
        """A durable timer; yields None after `delay_ms` milliseconds."""
        if not isinstance(delay_ms, (int, float)) or isinstance(delay_ms, bool) or delay_ms < 0:
            raise InvalidArgumentError(
                f"schedule_timer: delay_ms must be a number >= 0, got {delay_ms!r}")
        return Task({"type": "timer", "delayMs": int(delay_ms)})

    def wait_for_event(self, name: str) -> Task:
        """Waits for the next external event `name` raised after the wait began."""
        return Task({"type": "waitEvent", "name": name})

    def dequeue_event(self, queue_name: str) -> Task:
        """Takes the next message of event queue `queue_name` (FIFO, buffered)."""
        return Task({"type": "dequeueEvent", "queueName": queue_name})

    # ---- orchestrations -----------------------------------------------------------------
    def schedule_sub_orchestration(self, name: str, input: Any = None) -> Task:
        """Runs orchestration `name` as a child; yields its output."""
        return Task({"type": "subOrchestration", "name": name,
                "input": _dumps(input, f"schedule_sub_orchestration('{name}') input")})

    def schedule_sub_orchestration_with_id(self, name: str, instance_id: str,
                                           input: Any = None) -> Task:
        """Like schedule_sub_orchestration, with an explicit child instance id."""
        return Task({"type": "subOrchestrationWithId", "name": name, "instanceId": instance_id,
                "input": _dumps(input, f"schedule_sub_orchestration_with_id('{name}') input")})

    def schedule_sub_orchestration_versioned(
        self, name: str, version: Optional[str] = None, input: Any = None
    ) -> Task:
        """Child orchestration pinned to `version` (None = latest registered)."""
        return Task({"type": "subOrchestrationVersioned", "name": name, "version": version,
                "input": _dumps(input, f"schedule_sub_orchestration_versioned('{name}') input")})

    def schedule_sub_orchestration_versioned_with_id(
        self, name: str, version: Optional[str], instance_id: str, input: Any = None
    ) -> Task:
        """Versioned child orchestration with an explicit instance id."""
        return Task({"type": "subOrchestrationVersionedWithId", "name": name, "version": version,
                "instanceId": instance_id,
                "input": _dumps(
                    input, f"schedule_sub_orchestration_versioned_with_id('{name}') input")})

    def start_orchestration(self, name: str, instance_id: str, input: Any = None) -> Task:
        """Starts an independent orchestration (fire-and-forget); yields None."""
        return Task({"type": "orchestration", "name": name, "instanceId": instance_id,
                "input": _dumps(input, f"start_orchestration('{name}') input")})

    def start_orchestration_versioned(
        self, name: str, version: str, instance_id: str, input: Any = None
    ) -> Task:
        """Fire-and-forget start pinned to `version`."""
        return Task({"type": "orchestrationVersioned", "name": name, "version": version,
                "instanceId": instance_id,
                "input": _dumps(input, f"start_orchestration_versioned('{name}') input")})

    def continue_as_new(self, input: Any = None) -> Task:
        """Ends this execution and starts a fresh one with `input` (history is reset)."""
        return Task({"type": "continueAsNew", "input": _dumps(input, "continue_as_new input")})

    def continue_as_new_versioned(self, input: Any = None, version: Optional[str] = None) -> Task:
        """continue_as_new that moves to `version` (None = latest)."""
        return Task({"type": "continueAsNewVersioned",
                "input": _dumps(input, "continue_as_new_versioned input"), "version": version})

    # ---- deterministic helpers ----------------------------------------------------------
    def new_guid(self) -> Task:
        """Yields a new GUID string (replay-safe)."""
        return Task({"type": "newGuid"})

    def utc_now(self) -> Task:
        """Yields the current time in epoch milliseconds (replay-safe)."""
        return Task({"type": "utcNow"})

    # ---- composition --------------------------------------------------------------------
    def all(self, tasks: List[Any]) -> "JoinTask":
        """Waits for every task; yields [{"ok": v} | {"err": e}, ...] in order.

        Task-graph handles may be mixed in: their graph runs once for all of them (a node
        shared by two handles runs once). `.then(task)` makes a handle of task(results).
        """
        return JoinTask(type="join", tasks=list(tasks))

    def race(self, *tasks: Any) -> Task:
        """Waits for the first of two or more tasks; yields {"index", "value"}.

        The losers are cancelled.
        """
        if len(tasks) == 1 and isinstance(tasks[0], (list, tuple)):
            tasks = tuple(tasks[0])
        if len(tasks) < 2:
            raise InvalidArgumentError(f"race() needs at least 2 tasks, got {len(tasks)}")
        return Task({"type": "select", "tasks": list(tasks)})

    # ---- typed variants -----------------------------------------------------------------
    def schedule_activity_typed(self, name: str, input: Any = None,
                                result_type: Any = None) -> ScheduledTask:
        task = ScheduledTask(type="activity", name=name,
                             input=_typed_input(input, f"schedule_activity_typed('{name}') input"))
        task["_typed"] = True
        task.update(routing_fields(name, None, None, name))
        return task

    def schedule_activity_on_session_typed(self, name: str, input: Any = None,
                                           session_id: Optional[str] = None) -> ScheduledTask:
        if not isinstance(session_id, str):
            raise InvalidTypeError("schedule_activity_on_session_typed: session_id must be a str")
        task = ScheduledTask(type="activityWithSession", name=name, sessionId=session_id,
                             input=_typed_input(input, "schedule_activity_on_session_typed input"))
        task["_typed"] = True
        task.update(routing_fields(name, None, None, name))
        return task

    def schedule_activity_with_retry_typed(self, name: str, input: Any = None,
                                           retry: Optional[Dict[str, Any]] = None) -> ScheduledTask:
        what = f"schedule_activity_with_retry_typed('{name}')"
        task = ScheduledTask(type="activityWithRetry", name=name,
                             input=_typed_input(input, what + " input"),
                             retry=normalize_retry(retry, what))
        task["_typed"] = True
        task.update(routing_fields(name, None, None, name))
        return task

    def schedule_activity_with_retry_on_session_typed(
        self, name: str, input: Any = None, retry: Optional[Dict[str, Any]] = None,
        session_id: Optional[str] = None,
    ) -> ScheduledTask:
        what = f"schedule_activity_with_retry_on_session_typed('{name}')"
        if not isinstance(session_id, str):
            raise InvalidTypeError(what + ": session_id must be a str")
        task = ScheduledTask(type="activityWithRetryOnSession", name=name,
                             input=_typed_input(input, what + " input"),
                             retry=normalize_retry(retry, what), sessionId=session_id)
        task["_typed"] = True
        task.update(routing_fields(name, None, None, name))
        return task

    def schedule_sub_orchestration_typed(self, name: str, input: Any = None,
                                         result_type: Any = None) -> Task:
        return Task({"type": "subOrchestration", "name": name, "_typed": True,
                "input": _typed_input(input, "schedule_sub_orchestration_typed input")})

    def schedule_sub_orchestration_with_id_typed(self, name: str, instance_id: str,
                                                 input: Any = None) -> Task:
        return Task({"type": "subOrchestrationWithId", "name": name, "instanceId": instance_id,
                "_typed": True,
                "input": _typed_input(input, "schedule_sub_orchestration_with_id_typed input")})

    def wait_for_event_typed(self, name: str) -> Task:
        return Task({"type": "waitEvent", "name": name, "_typed": True})

    def dequeue_event_typed(self, queue_name: str) -> Task:
        return Task({"type": "dequeueEvent", "queueName": queue_name, "_typed": True})

    def start_orchestration_typed(self, name: str, instance_id: str, input: Any = None) -> Task:
        return Task({"type": "orchestration", "name": name, "instanceId": instance_id,
                "input": _typed_input(input, "start_orchestration_typed input")})

    def start_orchestration_versioned_typed(self, name: str, version: str, instance_id: str,
                                            input: Any = None) -> Task:
        return Task({"type": "orchestrationVersioned", "name": name, "version": version,
                "instanceId": instance_id,
                "input": _typed_input(input, "start_orchestration_versioned_typed input")})

    def continue_as_new_typed(self, input: Any = None) -> Task:
        return Task({"type": "continueAsNew",
                "input": _typed_input(input, "continue_as_new_typed input")})

    def all_typed(self, tasks: List[Any]) -> Task:
        return Task({"type": "join", "tasks": list(tasks), "_typed_all": True})

    def race_typed(self, *tasks: Any) -> Task:
        task = self.race(*tasks)
        task["_typed_race"] = True
        return task

    def get_kv_value_from_instance(self, instance_id: str, key: str) -> ScheduledTask:
        """Reads another instance's KV value; yields a str or None (replay-safe)."""
        return ScheduledTask(
            type="activity", name="__duroxide_syscall:get_kv_value",
            input=json.dumps({"instance_id": instance_id, "key": key}),
        )

    def get_kv_value_from_instance_typed(self, instance_id: str, key: str) -> ScheduledTask:
        task = self.get_kv_value_from_instance(instance_id, key)
        task["_typed_kv"] = True
        return task

    # ---- fire-and-forget (no yield) -------------------------------------------------------
    def _write(self, method: str, *args: str) -> None:
        """Hands a write of this turn (custom status, KV) to the host's `method`; a context
        without a host ignores it."""
        if self._host is not None:
            getattr(self._host, method)(*args)

    def set_custom_status(self, status: Any) -> None:
        """Publishes a progress string visible to clients (last write in a turn wins)."""
        self._write("set_custom_status", str(status))

    def reset_custom_status(self) -> None:
        """Clears the custom status."""
        self._write("reset_custom_status")

    def get_custom_status(self) -> Optional[str]:
        """The current custom status (replay-safe)."""
        return self._host.get_custom_status() if self._host is not None else None

    def set_kv_value(self, key: Any, value: Any) -> None:
        self._write("set_kv", str(key), str(value))

    def set_kv_value_typed(self, key: Any, value: Any) -> None:
        self.set_kv_value(
            key, value if isinstance(value, str) else _dumps(value, "set_kv_value_typed"))

    def get_kv_value(self, key: Any) -> Optional[str]:
        return self._host.get_kv(str(key)) if self._host is not None else None

    def get_kv_value_typed(self, key: Any) -> Any:
        raw = self.get_kv_value(key)
        return loads_or_raw(raw)

    def get_kv_all_values(self) -> Dict[str, str]:
        return dict(self._host.get_kv_all()) if self._host is not None else {}

    def get_kv_all_keys(self) -> List[str]:
        return list(self.get_kv_all_values().keys())

    def get_kv_length(self) -> int:
        return len(self.get_kv_all_values())

    def clear_kv_value(self, key: Any) -> None:
        self._write("clear_kv", str(key))

    def clear_all_kv_values(self) -> None:
        self._write("clear_all_kv")

    def prune_kv_values_updated_before(self, cutoff_ms: int) -> int:
        if self._host is None:
            return 0
        return int(self._host.prune_kv(int(cutoff_ms)))

    def _tracer(self) -> Any:
        return self._host


def parse_result(result: Any) -> Any:
    """Unwraps ok/err items: a list of {"ok": v} gives [v, ...]; {"err": e} raises.

    Raises:
        TaskFailedError: for an {"err": e} item (str() is e; a DuroxideError and Exception).
    """
    if isinstance(result, list):
        return [parse_result(item) if _is_item(item) else item for item in result]
    if _is_item(result):
        if "err" in result:
            err = result["err"]
            raise TaskFailedError(err if isinstance(err, str) else json.dumps(err))
        return result["ok"]
    return result


def _is_item(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and ("ok" in value or "err" in value)
