"""The spans (docs/observability.md, "Spans"): the implementation of duroxide._telemetry's
hooks on an OpenTelemetry tracer.

- Client operations: one span each, current while the call runs; its W3C traceparent goes to
  the store with the start or the message.
- An execution: one span, emitted when the execution's code ends (completes, fails or continues
  as new) by the process that ran that last step, with the start time of its
  OrchestrationStarted event. Replayed steps emit nothing, so a replay never duplicates it.
  Its span id is derived (otel/_ids.py), so children emitted earlier, elsewhere, point at it.
- An activity attempt: one span, emitted by the worker that ran it, child of its execution.
- A timer: one span when it fires live, child of its execution.
- A message or request received: a link from the execution's span to the sender's span.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Tuple

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode

from duroxide.otel import _ids

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
# Client operations that hand work to an orchestration (PRODUCER) vs. plain calls (CLIENT).
_PRODUCER_OPS = {"start_orchestration", "send_message", "publish_event"}
# How many instances' trace ids the log filter remembers for the core's own records.
_RECENT_INSTANCES = 4096


class _PinnedIds:
    """Wraps an SDK tracer's id generator: the next span (and, for a root span, trace) id can
    be pinned for the calling thread; otherwise the wrapped generator decides."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._local = threading.local()

    def pin(self, trace_id: Optional[int], span_id: int) -> None:
        self._local.trace_id = trace_id
        self._local.span_id = span_id

    def generate_span_id(self) -> int:
        pinned = self._take("span_id")
        return int(self._inner.generate_span_id() if pinned is None else pinned)

    def generate_trace_id(self) -> int:
        pinned = self._take("trace_id")
        return int(self._inner.generate_trace_id() if pinned is None else pinned)

    def _take(self, attr: str) -> Any:
        """The id pinned for this thread under `attr` (None: none), unpinned: a pin serves
        one generation."""
        value = getattr(self._local, attr, None)
        setattr(self._local, attr, None)
        return value

    def is_trace_id_random(self) -> bool:
        return False


class _Execution:
    """What the span of one running execution needs, kept with its generator session."""

    __slots__ = ("ctx", "trace_id", "span_id", "parent_span_id", "sampled", "started_ns",
                 "links", "__weakref__")

    def __init__(self, ctx: Any) -> None:
        info: Dict[str, Any] = getattr(ctx, "_info", {}) or {}
        caller = _ids.parse_traceparent(info.get("traceContext"))
        self.ctx = ctx
        self.trace_id = caller.trace_id if caller else _ids.instance_trace_id(ctx.instance_id)
        self.sampled = caller.sampled if caller else True
        self.span_id = _ids.execution_span_id(self.trace_id, ctx.instance_id, ctx.execution_id)
        parent_instance = info.get("parentInstanceId") or ""
        if parent_instance:
            self.parent_span_id: Optional[int] = _ids.execution_span_id(
                self.trace_id, parent_instance, int(info.get("parentExecutionId") or 1))
        else:
            self.parent_span_id = caller.span_id if caller else None
        started_ms = int(info.get("startedAtMs") or 0)
        self.started_ns = started_ms * 1_000_000 if started_ms > 0 else time.time_ns()
        self.links: List[Link] = []

    def span_context(self) -> SpanContext:
        return SpanContext(self.trace_id, self.span_id, is_remote=True,
                           trace_flags=_SAMPLED if self.sampled else TraceFlags(0))


def _error_parts(text: str) -> Tuple[str, str]:
    """(type, message) of a recorded failure: "Activity 'x' call failed: Type: msg", a
    traceback whose last line is "Type: msg", or plain text."""
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    if "call failed: " in last:
        last = last.split("call failed: ", 1)[1]
    head, sep, rest = last.partition(": ")
    if sep and head.replace(".", "").replace("_", "").isalnum() and " " not in head:
        return head, rest
    return "Error", last


def _record_error(span: Any, text: str) -> None:
    etype, message = _error_parts(text)
    span.set_status(Status(StatusCode.ERROR, f"{etype}: {message}"))
    span.add_event("exception", {"exception.type": etype, "exception.message": message})


class OtelHooks:
    """duroxide._telemetry's hooks over one tracer."""

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer
        inner = getattr(tracer, "id_generator", None)
        # Derived ids need the SDK's tracer; another API implementation gets random ids (the
        # execution span is then not the parent its children point at).
        self.pinned: Optional[_PinnedIds] = None
        if inner is not None:
            self.pinned = _PinnedIds(inner)
            tracer.id_generator = self.pinned
        self._sessions: "weakref.WeakKeyDictionary[Any, _Execution]" = (
            weakref.WeakKeyDictionary())
        self._recent: "OrderedDict[str, Tuple[int, int]]" = OrderedDict()
        self._recent_lock = threading.Lock()

    # ---- client ----------------------------------------------------------------------------
    def client_call(self, operation: str, instance_id: Optional[str], target: str,
                    call: Callable[[str], Any]) -> Any:
        kind = SpanKind.PRODUCER if operation in _PRODUCER_OPS else SpanKind.CLIENT
        attrs: Dict[str, Any] = {"duroxide.operation": operation}
        if instance_id is not None:
            attrs["duroxide.instance_id"] = instance_id
        if operation.startswith("start"):
            attrs["duroxide.orchestration.name"] = target
        elif operation == "raise_event":
            attrs["duroxide.event.name"] = target
        else:  # messaging semantic conventions: the queue, topic or operation
            attrs.update({"messaging.system": "duroxide", "messaging.destination.name": target,
                          "messaging.operation.type": "publish" if kind == SpanKind.PRODUCER
                          else "send"})
        with self.tracer.start_as_current_span(f"{operation} {target}", kind=kind,
                                               attributes=attrs) as span:
            sc = span.get_span_context()
            traceparent = (_ids.format_traceparent(sc.trace_id, sc.span_id, sc.trace_flags.sampled)
                           if sc.is_valid else "")
            return call(traceparent)

    # ---- orchestrations --------------------------------------------------------------------
    def orchestration_start(self, run: Callable[..., Any], fn: Any, ctx: Any,
                            input_text: str) -> Any:
        ex = _Execution(ctx)
        self._remember(ctx.instance_id, ex.trace_id, ex.span_id)
        result = self._in_execution(ex, lambda: run(fn, ctx, input_text))
        session = result[2] if len(result) > 2 else None
        if result[0] == "yield":
            if session is not None:
                try:
                    self._sessions[session] = ex
                except TypeError:  # not weak-referenceable: no span for this execution
                    pass
            self._after_yield(ex, result[1])
        else:
            self._end_execution(ex, result[0], result[1])
        return result

    def orchestration_step(self, run: Callable[..., Any], gen: Any, last_task: Any, value: Any,
                           is_error: bool, details: Any) -> Any:
        ex = self._sessions.get(gen) if gen is not None else None
        if ex is None:
            return run(gen, last_task, value, is_error, details)
        replaying = self._replaying(ex.ctx)
        self._note_arrival(ex, last_task, value, is_error, replaying)
        result = self._in_execution(ex, lambda: run(gen, last_task, value, is_error, details))
        if result[0] == "yield":
            self._after_yield(ex, result[1])
        else:
            self._sessions.pop(gen, None)
            self._end_execution(ex, result[0], result[1])
        return result

    def _in_execution(self, ex: _Execution, call: Callable[[], Any]) -> Any:
        # The execution's span is current while its code runs: ctx.trace_* records and spans
        # that user code starts join the trace.
        token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(
            ex.span_context())))
        try:
            return call()
        finally:
            otel_context.detach(token)

    @staticmethod
    def _replaying(ctx: Any) -> bool:
        host = getattr(ctx, "_host", None)
        try:
            return bool(host.is_replaying()) if host is not None else False
        except Exception:  # noqa: BLE001 - a host outside its step answers nothing useful
            return False

    def _note_arrival(self, ex: _Execution, task: Any, value: Any, is_error: bool,
                      replaying: bool) -> None:
        if not isinstance(task, dict):
            return
        if isinstance(value, dict) and "meta" in value:
            # A message or request taken by this execution (replayed ones too: the execution
            # span is emitted once, at the end, with every message of the execution).
            meta = value.get("meta")
            try:
                parsed = json.loads(meta) if isinstance(meta, str) else meta
            except ValueError:
                parsed = None
            sender = _ids.parse_traceparent(parsed.get("traceparent")) if isinstance(
                parsed, dict) else None
            if sender is not None:
                ex.links.append(Link(
                    SpanContext(sender.trace_id, sender.span_id, is_remote=True,
                                trace_flags=_SAMPLED if sender.sampled else TraceFlags(0)),
                    {"duroxide.queue": str(value.get("queue", "")),
                     "messaging.message.id": str(parsed.get("message_id") or "")
                     if isinstance(parsed, dict) else ""}))
        if task.get("type") == "timer" and not replaying:
            self._emit_timer(ex, int(task.get("delayMs") or 0), is_error)

    def _after_yield(self, ex: _Execution, task: Any) -> None:
        if isinstance(task, dict) and str(task.get("type", "")).startswith("continueAsNew"):
            self._emit_execution(ex, "continued_as_new", None)

    def _end_execution(self, ex: _Execution, kind: str, payload: Any) -> None:
        if kind == "complete":
            self._emit_execution(ex, "completed", None)
        elif kind == "fail":
            self._emit_execution(ex, "failed", str(payload))

    def _emit_execution(self, ex: _Execution, status: str, error: Optional[str]) -> None:
        ctx = ex.ctx
        attrs = {
            "duroxide.instance_id": ctx.instance_id,
            "duroxide.execution_id": int(ctx.execution_id),
            "duroxide.orchestration.name": ctx.orchestration_name,
            "duroxide.orchestration.version": ctx.orchestration_version,
            "duroxide.status": status,
        }
        parent_ctx = otel_context.Context()
        root_trace: Optional[int] = ex.trace_id
        if ex.parent_span_id is not None:
            parent = SpanContext(ex.trace_id, ex.parent_span_id, is_remote=True,
                                 trace_flags=_SAMPLED if ex.sampled else TraceFlags(0))
            parent_ctx = trace.set_span_in_context(NonRecordingSpan(parent), parent_ctx)
            root_trace = None
        if self.pinned is not None:
            self.pinned.pin(root_trace, ex.span_id)
        span = self.tracer.start_span(f"orchestration {ctx.orchestration_name}",
                                      context=parent_ctx, kind=SpanKind.INTERNAL,
                                      attributes=attrs, links=ex.links,
                                      start_time=ex.started_ns)
        if error is not None:
            _record_error(span, error)
        span.end()

    def _emit_timer(self, ex: _Execution, delay_ms: int, is_error: bool) -> None:
        now = time.time_ns()
        parent = trace.set_span_in_context(NonRecordingSpan(ex.span_context()),
                                           otel_context.Context())
        span = self.tracer.start_span(
            "timer", context=parent, kind=SpanKind.INTERNAL,
            attributes={"duroxide.instance_id": ex.ctx.instance_id,
                        "duroxide.execution_id": int(ex.ctx.execution_id),
                        "duroxide.orchestration.name": ex.ctx.orchestration_name,
                        "duroxide.timer.delay_ms": delay_ms},
            start_time=now - delay_ms * 1_000_000)
        if is_error:
            span.set_status(Status(StatusCode.ERROR, "timer failed"))
        span.end(end_time=now)

    # ---- activities ------------------------------------------------------------------------
    def activity(self, run: Callable[..., Any], fn: Any, info: Dict[str, Any], handle: Any,
                 client_factory: Any, input_text: str, completion: Any = None) -> Any:
        instance = str(info.get("instanceId", ""))
        execution = int(info.get("executionId") or 1)
        caller = _ids.parse_traceparent(info.get("traceContext"))
        trace_id = caller.trace_id if caller else _ids.instance_trace_id(instance)
        sampled = caller.sampled if caller else True
        parent = SpanContext(trace_id, _ids.execution_span_id(trace_id, instance, execution),
                             is_remote=True, trace_flags=_SAMPLED if sampled else TraceFlags(0))
        name = str(info.get("activityName", ""))
        attrs = {
            "duroxide.instance_id": instance,
            "duroxide.execution_id": execution,
            "duroxide.orchestration.name": str(info.get("orchestrationName", "")),
            "duroxide.activity.name": name,
            "duroxide.activity.id": int(info.get("activityId") or 0),
            "duroxide.attempt": int(info.get("attempt") or 1),
            "duroxide.worker": str(info.get("workerId", "")),
        }
        self._remember(instance, trace_id, parent.span_id)
        with self.tracer.start_as_current_span(
                f"activity {name}",
                context=trace.set_span_in_context(NonRecordingSpan(parent),
                                                  otel_context.Context()),
                kind=SpanKind.INTERNAL, attributes=attrs) as span:
            result = run(fn, info, handle, client_factory, input_text, completion)
            if result is None:
                # An async def activity handed to the runtime's event loop: this span covers
                # the hand-off only (docs/observability.md, limits).
                span.set_attribute("duroxide.activity.async", True)
            elif not result[0]:
                _record_error(span, result[1])
            return result

    # ---- logs ------------------------------------------------------------------------------
    def _remember(self, instance: str, trace_id: int, span_id: int) -> None:
        with self._recent_lock:
            self._recent[instance] = (trace_id, span_id)
            self._recent.move_to_end(instance)
            while len(self._recent) > _RECENT_INSTANCES:
                self._recent.popitem(last=False)

    def log_ids(self, fields: Dict[str, str]) -> Dict[str, str]:
        from duroxide.otel._logs import ids_for_fields

        return ids_for_fields(self, fields)

    def ids_for_instance(self, instance: str) -> Optional[Tuple[int, int]]:
        """(trace id, execution span id) of an instance seen lately in this process."""
        with self._recent_lock:
            return self._recent.get(instance)
