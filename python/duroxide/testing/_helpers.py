"""Helpers for tests: run an orchestration to completion, read and assert on its history."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from duroxide._common import loads_or_raw
from duroxide._providers import SqliteProvider
from duroxide.client.native import Client
from duroxide.errors import InvalidTypeError, NotFoundError, OrchestrationFailedError
from duroxide.worker.options import RuntimeOptions
from duroxide.worker.registry import Registry
from duroxide.worker.runtime import Runtime

__all__ = ["HistoryEvent", "OrchestrationFailedError", "assert_history", "format_history",
           "get_history", "history_summary", "run_orchestration", "wait_for_history"]

_SYSCALL_PREFIX = "__duroxide_syscall:"
_ids = itertools.count(1)
FAST_OPTIONS: Dict[str, Any] = dict(dispatcher_poll_interval_ms=20, worker_lock_timeout_ms=5000)


def _fast_options() -> Any:
    return RuntimeOptions(**FAST_OPTIONS)


def run_orchestration(target: Any, name: str, input: Any = None, *,
                      instance_id: Optional[str] = None, version: Optional[str] = None,
                      timeout_ms: int = 30000, provider: Any = None, client: Any = None,
                      raise_on_failure: bool = True) -> Any:
    """Starts orchestration `name` with `input`, waits for it to end and returns its output.

    `target` is a Runtime (started here if it is not running yet), a duroxide.Registry (served
    by a temporary runtime on `provider`, default a fresh in-memory store, shut down before
    returning) or a test environment from the pytest fixtures. Raises OrchestrationFailedError
    if the instance fails (or returns the OrchestrationResult with raise_on_failure=False), and
    OperationTimedOutError after timeout_ms.
    """
    own_runtime: Optional[Runtime] = None
    if hasattr(target, "runtime") and isinstance(target.runtime, Runtime):
        client = client or getattr(target, "client", None)
        target = target.runtime
    if isinstance(target, Registry):
        provider = provider or SqliteProvider.in_memory()
        own_runtime = Runtime(provider, _fast_options(), registry=target)
        runtime = own_runtime
    elif isinstance(target, Runtime):
        runtime = target
        provider = provider or runtime._provider
    else:
        raise InvalidTypeError(f"run_orchestration: target must be a Runtime or a Registry, not "
                               f"{type(target).__name__}")
    if client is None:
        client = Client(provider)
    if not runtime._started:
        runtime.start()
    instance_id = instance_id or f"{name}-test-{next(_ids)}"
    try:
        if version is None:
            client.start_orchestration(instance_id, name, input)
        else:
            client.start_orchestration_versioned(instance_id, name, input, version)
        result = client.wait_for_orchestration(instance_id, timeout_ms)
    finally:
        if own_runtime is not None:
            own_runtime.shutdown(2000)
    if result.status == "Failed":
        if raise_on_failure:
            raise OrchestrationFailedError(f"orchestration {instance_id} failed: {result.error}",
                                           instance_id=instance_id, error=result.error,
                                           result=result)
        return result
    return result.output if raise_on_failure else result


# ---- histories ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEvent:
    """One event in a readable form. `name` is the activity, timer-less, event, child or
    orchestration name the event is about (completions carry their schedule's name)."""

    event_id: int
    kind: str
    name: Optional[str]
    source_event_id: Optional[int]
    data: Any

    def label(self) -> str:
        return f"{self.kind}({self.name})" if self.name else self.kind

    def __str__(self) -> str:
        return self.label()


def _parse(text: Optional[str]) -> Any:
    return loads_or_raw(text)


def _short_name(name: Optional[str]) -> Optional[str]:
    if name and name.startswith(_SYSCALL_PREFIX):
        return name[len(_SYSCALL_PREFIX):]
    return name


def _normalize(events: Iterable[Any]) -> List[HistoryEvent]:
    out: List[HistoryEvent] = []
    names: Dict[int, Optional[str]] = {}
    for e in events:
        if isinstance(e, HistoryEvent):
            out.append(e)
            names[e.event_id] = e.name
            continue
        raw = getattr(e, "raw", None)
        full = json.loads(raw) if raw else (e if isinstance(e, dict) else {})
        kind = str(getattr(e, "kind", None) or full.get("type") or full.get("kind"))
        event_id = int(getattr(e, "event_id", None) or full.get("event_id") or 0)
        source = getattr(e, "source_event_id", None) if not isinstance(e, dict) else \
            full.get("source_event_id")
        data = _parse(getattr(e, "data", None)) if not isinstance(e, dict) else full
        name = full.get("name") or full.get("key") or None
        if name is None and isinstance(data, dict) and isinstance(data.get("name"), str):
            name = data["name"]
        if name is None and source is not None:
            name = names.get(int(source))
        name = _short_name(name)
        names[event_id] = name
        out.append(HistoryEvent(event_id, kind, name, source, data))
    return out


def get_history(client: Any, instance_id: str, execution_id: Optional[int] = None
                ) -> List[HistoryEvent]:
    """The events of one execution (default: the current one) as HistoryEvent objects."""
    if execution_id is None:
        execution_id = client.get_instance_info(instance_id).current_execution_id
    return _normalize(client.read_execution_history(instance_id, execution_id))


def history_summary(history: Any, instance_id: Optional[str] = None) -> List[str]:
    """["OrchestrationStarted(Hello)", "ActivityScheduled(Greet)", ...] for a history."""
    return [e.label() for e in _events_of(history, instance_id)]


def format_history(history: Any, instance_id: Optional[str] = None) -> str:
    """One numbered line per event: id, kind(name) and a short form of the data."""
    lines = []
    for e in _events_of(history, instance_id):
        data = "" if e.data is None else json.dumps(e.data, default=str)
        if len(data) > 60:
            data = data[:57] + "..."
        src = f" <- {e.source_event_id}" if e.source_event_id is not None else ""
        lines.append(f"{e.event_id:>4}  {e.label()}{src}  {data}".rstrip())
    return "\n".join(lines)


def _events_of(history: Any, instance_id: Optional[str]) -> List[HistoryEvent]:
    if isinstance(history, tuple) and len(history) == 2 and isinstance(history[1], str):
        return get_history(history[0], history[1])
    if instance_id is not None and hasattr(history, "read_execution_history"):
        return get_history(history, instance_id)
    if isinstance(history, (list, tuple)):
        return _normalize(history)
    raise InvalidTypeError("a history is a list of events, (client, instance_id), or a client with "
                           "instance_id=")


ExpectedItem = Union[str, Tuple[str, Optional[str]], Dict[str, Any]]


def _expected(item: ExpectedItem) -> Tuple[str, Optional[str]]:
    if isinstance(item, tuple):
        return str(item[0]), (None if len(item) < 2 or item[1] is None else str(item[1]))
    if isinstance(item, dict):
        return str(item["kind"]), item.get("name")
    text = str(item).strip()
    if text.endswith(")") and "(" in text:
        kind, _, name = text[:-1].partition("(")
        return kind.strip(), name.strip().strip("'\"")
    if ":" in text:
        kind, _, name = text.partition(":")
        return kind.strip(), name.strip()
    return text, None


def _matches(event: HistoryEvent, want: Tuple[str, Optional[str]]) -> bool:
    kind, name = want
    if event.kind != kind:
        return False
    return name is None or name == event.name or _short_name(name) == event.name


def assert_history(history: Any, expected: Sequence[ExpectedItem], *,
                   instance_id: Optional[str] = None, exact: bool = False) -> None:
    """Asserts that the history holds the `expected` events in this order.

    Items are "Kind", "Kind(name)", "Kind:name", (kind, name) or {"kind", "name"}; a name
    of None matches any. By default other events may come in between (an ordered
    subsequence); with exact=True the history must be exactly these events. `history` is a
    list of events (client.read_execution_history or get_history), (client, instance_id), or a
    client with instance_id=. Raises AssertionError with both histories side by side.
    """
    events = _events_of(history, instance_id)
    wants = [_expected(item) for item in expected]
    failure: Optional[str] = None
    if exact:
        for i in range(max(len(events), len(wants))):
            if i >= len(events):
                failure = f"expected item {i + 1} ({_label(wants[i])}) but the history ended"
            elif i >= len(wants):
                failure = f"unexpected extra event {events[i].event_id} {events[i].label()}"
            elif not _matches(events[i], wants[i]):
                failure = (f"item {i + 1}: expected {_label(wants[i])}, got event "
                           f"{events[i].event_id} {events[i].label()}")
            if failure:
                break
    else:
        pos = 0
        for i, want in enumerate(wants):
            while pos < len(events) and not _matches(events[pos], want):
                pos += 1
            if pos >= len(events):
                prev = f" after {_label(wants[i - 1])}" if i else ""
                failure = f"item {i + 1} ({_label(want)}) not found{prev}"
                break
            pos += 1
    if failure:
        expected_text = "\n".join(f"  {n:>3}. {_label(w)}" for n, w in enumerate(wants, 1))
        raise AssertionError(
            f"history does not match ({'exact' if exact else 'in order'}): {failure}\n"
            f"expected:\n{expected_text}\nactual:\n{format_history(events)}")


def _label(want: Tuple[str, Optional[str]]) -> str:
    return f"{want[0]}({want[1]})" if want[1] else want[0]


def wait_for_history(client: Any, instance_id: str, expected: Sequence[ExpectedItem], *,
                     timeout_ms: int = 10000, exact: bool = False) -> List[HistoryEvent]:
    """Waits until the instance's history holds `expected` (as assert_history checks it), e.g.
    until a workflow has created its timer before a test moves the clock. Returns the events;
    raises AssertionError (with both histories) after timeout_ms."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            events = get_history(client, instance_id)
            assert_history(events, expected, exact=exact)
            return events
        except (AssertionError, NotFoundError):
            if time.monotonic() >= deadline:
                raise
        time.sleep(0.005)
