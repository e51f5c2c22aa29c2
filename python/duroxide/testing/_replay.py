"""Replay checks: run a recorded history against the current code, with no store and no effects.

`replay(history_or_instance, registry)` hands one execution's events to the C++ ReplayEngine
(the same engine, with the same matching rules, that runs every turn in production) through
`duroxide._core.replay_history`. Activities are never run (their results come from the
history), nothing is written anywhere, and the engine's verdict is returned as a
`ReplayResult`: whether the code still follows the history and, if not, at which event and
what the code did instead.

Histories come from a store (an instance id with a client), from `client.read_execution_history`
(a list of `duroxide.Event`), or from JSON files written by `duroxide export-history`
(`export_history` / `load_histories` here), so CI can check a new version against production
histories without access to production.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from duroxide._common import loads_or_raw
from duroxide.client.native import Client
from duroxide.errors import (
    DuroxideError,
    InvalidArgumentError,
    InvalidTypeError,
    NondeterminismError,
)
from duroxide.worker.loader import as_registry

__all__ = [
    "EXPORT_FORMAT", "ExportedExecution", "ExportedHistory", "NondeterminismError",
    "ReplayResult", "export_history", "load_histories", "read_history", "replay",
    "replay_exported", "registry_functions",
]

_core: Any = importlib.import_module("duroxide._core")  # the native module (untyped)

EXPORT_FORMAT = "duroxide.history"
EXPORT_FORMAT_VERSION = 1
_SYSCALL_PREFIX = "__duroxide_syscall:"


# ---- histories ----------------------------------------------------------------------------


@dataclass
class ExportedExecution:
    """One execution's events, each the engine's JSON object (what the store holds)."""

    execution_id: int
    events: List[Dict[str, Any]]


@dataclass
class ExportedHistory:
    """An instance's recorded executions, as written by `duroxide export-history`."""

    instance_id: str
    orchestration_name: str
    orchestration_version: str
    status: str
    executions: List[ExportedExecution]
    source: str = ""  # file it was read from, if any

    def to_dict(self) -> Dict[str, Any]:
        return {
            "format": EXPORT_FORMAT, "format_version": EXPORT_FORMAT_VERSION,
            "instance_id": self.instance_id, "orchestration_name": self.orchestration_name,
            "orchestration_version": self.orchestration_version, "status": self.status,
            "executions": [{"execution_id": e.execution_id, "events": e.events}
                           for e in self.executions],
        }

    @staticmethod
    def from_dict(data: Dict[str, Any], source: str = "") -> "ExportedHistory":
        if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
            raise InvalidArgumentError(f"{source or 'history'}: not a duroxide history export "
                                       f"(expected \"format\": \"{EXPORT_FORMAT}\")")
        if int(data.get("format_version", 0)) > EXPORT_FORMAT_VERSION:
            raise InvalidArgumentError(
                f"{source or 'history'}: format_version "
                f"{data.get('format_version')} is newer than this duroxide reads")
        executions = [ExportedExecution(int(e["execution_id"]), list(e["events"]))
                      for e in data.get("executions", [])]
        return ExportedHistory(str(data["instance_id"]), str(data.get("orchestration_name", "")),
                               str(data.get("orchestration_version", "")),
                               str(data.get("status", "")), executions, source)


def read_history(client: Any, instance_id: str) -> ExportedHistory:
    """Every stored execution of `instance_id` (raises NotFoundError for an unknown id)."""
    info = client.get_instance_info(instance_id)
    executions = []
    for execution_id in client.list_executions(instance_id):
        events = client.read_execution_history(instance_id, execution_id)
        if any(not getattr(e, "raw", None) for e in events):
            raise DuroxideError("reading a history for replay needs each event's stored form "
                                "(Client and HttpClient read it; this client did not)")
        executions.append(ExportedExecution(execution_id, [json.loads(e.raw) for e in events]))
    return ExportedHistory(instance_id, info.orchestration_name, info.orchestration_version,
                           info.status, executions)


def export_history(client: Any, instance_ids: Sequence[str], out: Union[str, "os.PathLike[str]"]
                   ) -> List[str]:
    """Writes each instance's history to `out`: one file per instance in a directory, or
    (when `out` ends with .json) one file holding a list. Returns the files written."""
    histories = [read_history(client, i) for i in instance_ids]
    path = os.fspath(out)
    if path.endswith(".json"):
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump([h.to_dict() for h in histories], fh, indent=1)
        return [path]
    os.makedirs(path, exist_ok=True)
    written = []
    for h in histories:
        name = re.sub(r"[^A-Za-z0-9_.@-]", "_", h.instance_id) + ".json"
        target = os.path.join(path, name)
        with open(target, "w", encoding="utf-8") as fh:
            json.dump(h.to_dict(), fh, indent=1)
        written.append(target)
    return written


def load_histories(paths: Sequence[Union[str, "os.PathLike[str]"]]) -> List[ExportedHistory]:
    """Reads exported histories from files and directories (every *.json inside)."""
    files: List[str] = []
    for raw in paths:
        path = os.fspath(raw)
        if os.path.isdir(path):
            files += sorted(os.path.join(path, n) for n in os.listdir(path) if n.endswith(".json"))
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    out: List[ExportedHistory] = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            try:
                data = json.load(fh)
            except ValueError as exc:
                raise InvalidArgumentError(f"{f}: not valid JSON ({exc})") from None
        for item in data if isinstance(data, list) else [data]:
            out.append(ExportedHistory.from_dict(item, f))
    return out


# ---- results ------------------------------------------------------------------------------


@dataclass
class ReplayResult:
    """The verdict of one replay.

    `ok` is true when the code follows the recorded history and (for a finished execution)
    ends the same way. Otherwise `nondeterministic` (the engine's check failed: `event_id` is
    the recorded event where it failed, `recorded` describes it and `actual` what the code did
    instead), `outcome_mismatch` (same events, different result) or `unregistered` (no function
    for the recorded name and version).
    """

    instance_id: str
    execution_id: int
    orchestration_name: str
    orchestration_version: str
    ok: bool
    nondeterministic: bool = False
    unregistered: bool = False
    outcome_mismatch: bool = False
    message: Optional[str] = None
    event_id: Optional[int] = None
    recorded: Optional[str] = None
    actual: Optional[str] = None
    outcome: str = ""            # what the code reached: completed, failed, continued_as_new,
    recorded_outcome: str = ""   # running (still waiting) or unregistered
    output: Any = None
    recorded_output: Any = None
    new_work: List[str] = field(default_factory=list)  # scheduled beyond the recorded history
    events: int = 0
    source: str = ""

    def __bool__(self) -> bool:
        return self.ok

    @property
    def error(self) -> Optional[str]:
        return None if self.ok else self.message

    def check(self) -> "ReplayResult":
        """Returns self if ok; raises NondeterminismError with the report otherwise."""
        if not self.ok:
            raise NondeterminismError(self)
        return self

    raise_on_failure = check
    assert_ok = check

    def label(self) -> str:
        return (f"{self.instance_id} ({self.orchestration_name} {self.orchestration_version}, "
                f"execution {self.execution_id})")

    def report(self) -> str:
        """A readable multi-line report."""
        if self.ok:
            extra = f"; new work the code would schedule: {', '.join(self.new_work)}" \
                if self.new_work else ""
            return f"OK {self.label()}: {self.events} events replayed, {self.outcome}{extra}"
        if self.nondeterministic:
            lines = [f"NONDETERMINISTIC {self.label()}"]
            if self.event_id is not None:
                lines.append(f"  at event {self.event_id}")
            if self.recorded:
                lines.append(f"  history recorded: {self.recorded}")
            if self.actual:
                lines.append(f"  the code instead:  {self.actual}")
            lines.append(f"  engine: {self.message}")
            return "\n".join(lines)
        if self.unregistered:
            return f"UNREGISTERED {self.label()}: {self.message}"
        return (f"DIVERGED {self.label()}: {self.message}")

    def __str__(self) -> str:
        return self.report()


_SCHEDULED = re.compile(r"^orchestration scheduled (.*) but history recorded (.*) at event (\d+)$",
                        re.S)
_NOT_SCHEDULED = re.compile(r"^history recorded (.*) at event (\d+) but the orchestration did not "
                            r"schedule it$", re.S)
_FINISHED = re.compile(r"^the orchestration finished but history recorded (.*) at event (\d+)$",
                       re.S)
_FINISHED_EARLY = re.compile(r"^the orchestration finished during replay at event (\d+)", re.S)
_UNSCHEDULED_COMPLETION = re.compile(r"^(\w+) at event (\d+) completes event (\d+)", re.S)


_SYSCALL_DESC = re.compile(r"ActivityScheduled '__duroxide_syscall:(\w+)' \(input \)")


def _readable(text: str) -> str:
    """Engine descriptions with the system calls named as the user wrote them."""
    def call(m: "re.Match[str]") -> str:
        name = m.group(1)[:-3] if m.group(1).endswith("_ms") else m.group(1)
        return f"ctx.{name}() (ActivityScheduled '__duroxide_syscall:{m.group(1)}')"

    text = _SYSCALL_DESC.sub(call, text)
    for kind, api in _KIND_API.items():
        text = re.sub(rf"\b{kind}\b(?! \()( '[^']*')?", rf"\g<0> ({api})", text)
    return text


# What user code calls to emit each kind of event (for readable reports).
_KIND_API = {
    "TimerCreated": "ctx.schedule_timer", "CustomStatusUpdated": "ctx.set_custom_status",
    "ExternalSubscribed": "ctx.wait_for_event", "QueueSubscribed": "ctx.dequeue_event",
    "KeyValueSet": "ctx.set_kv_value", "KeyValueCleared": "ctx.clear_kv_value",
    "SubOrchestrationScheduled": "ctx.schedule_sub_orchestration",
    "OrchestrationChained": "ctx.start_orchestration",
}


def _explain(message: str) -> Tuple[Optional[int], Optional[str], Optional[str]]:
    """(event_id, recorded, actual) from an engine nondeterminism message."""
    event_id, recorded, actual = _explain_raw(message)
    return (event_id, None if recorded is None else _readable(recorded),
            None if actual is None else _readable(actual))


def _explain_raw(message: str) -> Tuple[Optional[int], Optional[str], Optional[str]]:
    m = _SCHEDULED.match(message)
    if m:
        return int(m.group(3)), m.group(2), f"scheduled {m.group(1)}"
    m = _NOT_SCHEDULED.match(message)
    if m:
        return int(m.group(2)), m.group(1), "did not schedule it (it waited or scheduled " \
                                            "nothing there)"
    m = _FINISHED.match(message)
    if m:
        return int(m.group(2)), m.group(1), "returned (finished) before reaching it"
    m = _FINISHED_EARLY.match(message)
    if m:
        return int(m.group(1)), "more events after this one", "finished here"
    m = _UNSCHEDULED_COMPLETION.match(message)
    if m:
        return int(m.group(2)), f"{m.group(1)} for event {m.group(3)}", \
            f"never scheduled event {m.group(3)}"
    return None, None, None


# ---- replay -------------------------------------------------------------------------------


def registry_functions(registry: Any) -> Dict[str, Callable[..., Any]]:
    """The {"name@version": fn} table the native invoker resolves orchestrations from."""
    registry = as_registry(registry)
    table: Dict[str, Callable[..., Any]] = {}
    for name, version, fn in registry.orchestrations():
        table[f"{name}@{version}"] = fn
    return table


def _kind_name(event: Dict[str, Any]) -> str:
    return str(event.get("type") or event.get("kind") or "")


def _kv_baseline(previous: Sequence[ExportedExecution]) -> Dict[str, str]:
    """KV state at the start of the next execution: the KV events of the earlier ones."""
    kv: Dict[str, str] = {}
    for execution in previous:
        for e in execution.events:
            kind = _kind_name(e)
            if kind == "KeyValueSet":
                kv[str(e.get("key"))] = str(e.get("value"))
            elif kind == "KeyValueCleared":
                kv.pop(str(e.get("key")), None)
            elif kind == "KeyValuesCleared":
                kv.clear()
    return kv


def _describe_new(events: List[str]) -> List[str]:
    out = []
    for raw in events:
        e = json.loads(raw)
        kind = _kind_name(e)
        if kind.startswith("Orchestration") and kind != "OrchestrationChained":
            continue
        name = str(e.get("name") or e.get("key") or "")
        if name.startswith(_SYSCALL_PREFIX):
            continue
        out.append(f"{kind} '{name}'" if name else kind)
    return out


def _last_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _recorded_terminal(raw: Optional[str]) -> Tuple[str, Any, Optional[Dict[str, Any]]]:
    """(outcome, value, error details) of the recorded terminal event."""
    if raw is None:
        return "running", None, None
    e = json.loads(raw)
    kind = _kind_name(e)
    if kind == "OrchestrationCompleted":
        return "completed", loads_or_raw(e.get("output", e.get("data"))), None
    if kind == "OrchestrationContinuedAsNew":
        return "continued_as_new", loads_or_raw(e.get("input")), None
    details = e.get("details") or e.get("error") or {}
    return "failed", None, details if isinstance(details, dict) else {}


def _error_text(details: Dict[str, Any]) -> Tuple[str, str]:
    """(category, message) of an externally tagged ErrorDetails object."""
    for category, body in details.items():
        if isinstance(body, dict):
            return category, str(body.get("message") or body.get("reason") or "")
    return "", ""


def _replay_execution(history: ExportedHistory, index: int, functions: Dict[str, Any]
                      ) -> ReplayResult:
    execution = history.executions[index]
    events = execution.events
    started = events[0] if events else {}
    name = str(started.get("name", history.orchestration_name))
    version = str(started.get("version") or history.orchestration_version or "1.0.0")
    base = dict(instance_id=history.instance_id, execution_id=execution.execution_id,
                orchestration_name=name, orchestration_version=version, events=len(events),
                source=history.source)
    if f"{name}@{version}" not in functions:
        known = sorted(k for k in functions if k.split("@")[0] == name)
        hint = f" (registered: {', '.join(known)})" if known else ""
        return ReplayResult(ok=False, unregistered=True, outcome="unregistered",
                            message=f"no orchestration '{name}' version {version} in the "
                                    f"registry{hint}", **base)  # type: ignore[arg-type]
    kv = _kv_baseline(history.executions[:index])
    raw = _core.replay_history(history.instance_id, execution.execution_id,
                               [json.dumps(e) for e in events], functions, kv)
    residue = _final_turn_residue(raw, events)
    if residue is not None:
        # The code finished inside the recorded final turn; what history holds after that
        # point is the same turn's late arrivals and the cancellations of the losers. Replay up
        # to the finishing event: the code must then produce those cancellations itself.
        cut, recorded_tail = residue
        raw = _core.replay_history(history.instance_id, execution.execution_id,
                                   [json.dumps(e) for e in events[:cut]], functions, kv)
        raw["recorded_terminal"] = json.dumps(events[-1])
        drift = _breadcrumb_drift(recorded_tail, raw["new_events"])
        if drift is not None and raw["outcome"] != "failed":
            raw.update(outcome="failed", error_kind="Nondeterminism",
                       error=f"nondeterministic: {drift}")
    outcome = {"continue": "running"}.get(raw["outcome"], raw["outcome"])
    recorded_outcome, recorded_value, recorded_error = _recorded_terminal(raw["recorded_terminal"])
    result = ReplayResult(ok=True, outcome=outcome, recorded_outcome=recorded_outcome,
                          recorded_output=recorded_value, **base)  # type: ignore[arg-type]
    result.new_work = _describe_new(raw["new_events"])
    if outcome == "completed":
        result.output = loads_or_raw(raw["output"])
    if raw["outcome"] == "failed" and raw["error_kind"] == "Nondeterminism":
        result.ok, result.nondeterministic, result.message = False, True, raw["error"]
        message = str(raw["error"])
        if message.startswith("nondeterministic: "):
            message = message[len("nondeterministic: "):]
        result.event_id, result.recorded, result.actual = _explain(message)
        return result
    if raw["outcome"] == "unregistered":
        result.ok, result.unregistered, result.message = False, True, raw["error"]
        return result
    _compare_outcome(result, raw, recorded_error, events)
    return result


_ARRIVALS = {"ActivityCompleted", "ActivityFailed", "TimerFired", "SubOrchestrationCompleted",
             "SubOrchestrationFailed", "ExternalEvent", "QueueEventDelivered",
             "OrchestrationCancelRequested"}
_BREADCRUMBS = {"ActivityCancelRequested", "SubOrchestrationCancelRequested",
                "ExternalSubscribedCancelled", "QueueSubscriptionCancelled"}
_TERMINALS = {"OrchestrationCompleted", "OrchestrationFailed", "OrchestrationContinuedAsNew"}


def _final_turn_residue(raw: Dict[str, Any], events: List[Dict[str, Any]]
                        ) -> Optional[Tuple[int, List[Dict[str, Any]]]]:
    """(events to keep, events the code emitted after them) when the engine reports that the
    code finished before the end of a terminal history; else None.

    The engine's check "finished during replay but history kept running" guards running
    instances; in a finished history the last turn legitimately holds events after the point
    where the code finished: late arrivals of that turn, and what the code emitted in its last
    step (cancellations of losers, detached starts, status and KV updates).
    """
    if raw["outcome"] != "failed" or raw["error_kind"] != "Nondeterminism":
        return None
    if not events or _kind_name(events[-1]) not in _TERMINALS:
        return None
    m = re.search(r"finished during replay at event (\d+)", str(raw["error"]))
    if m is None:
        return None
    finish_id = int(m.group(1))
    cut = next((i + 1 for i, e in enumerate(events) if int(e.get("event_id", -1)) == finish_id),
               None)
    if cut is None:
        return None
    return cut, [e for e in events[cut:-1] if _kind_name(e) not in _ARRIVALS]


def _emitted_key(e: Dict[str, Any]) -> str:
    kind = _kind_name(e)
    fields: Tuple[Any, ...] = (kind,)
    if kind in _BREADCRUMBS:
        fields += (e.get("source_event_id"),)
    elif kind != "TimerCreated":  # timers match by position, as in the engine
        fields += (e.get("name"), e.get("input"), e.get("key"), e.get("value"), e.get("instance"))
    return json.dumps(fields)


def _breadcrumb_drift(recorded: List[Dict[str, Any]], new_events: List[str]) -> Optional[str]:
    """How the events the code emitted in its last step differ from the recorded ones."""
    produced = [json.loads(e) for e in new_events]
    produced = [e for e in produced if _kind_name(e) not in _ARRIVALS | _TERMINALS]
    if sorted(map(_emitted_key, recorded)) == sorted(map(_emitted_key, produced)):
        return None

    def describe(items: List[Dict[str, Any]]) -> str:
        return ", ".join(f"{_kind_name(e)} '{e.get('name') or e.get('key') or ''}'"
                         .replace(" ''", "") for e in items) or "nothing"

    first = recorded[0] if recorded else {}
    return (f"history recorded {describe(recorded)} at event {first.get('event_id', '?')} but "
            f"the orchestration emitted {describe(produced)} before finishing")


def _compare_outcome(result: ReplayResult, raw: Dict[str, Any],
                     recorded_error: Optional[Dict[str, Any]], events: List[Dict[str, Any]]
                     ) -> None:
    """Marks `result` when the code ends differently from the recorded execution."""
    recorded = result.recorded_outcome
    if recorded_error is not None:
        category, message = _error_text(recorded_error)
        if category not in ("Application", ""):
            return  # failed by the runtime (poison, nondeterminism, limits): not the code's end
    last_id = int(events[-1].get("event_id", len(events))) if events else 0
    terminal_id = last_id + 1
    if recorded == "running":
        if result.outcome != "running":
            result.ok, result.nondeterministic = False, True
            result.event_id, result.recorded = last_id, "no terminal event (still running)"
            result.actual = f"{result.outcome} after event {last_id}"
            result.message = (f"history ends at event {last_id} with the orchestration still "
                              f"running, but the code {result.outcome} there")
        return
    if result.outcome == "running":
        result.ok, result.nondeterministic = False, True
        result.event_id = terminal_id
        result.recorded = f"Orchestration{recorded.title().replace('_', '')} at event {terminal_id}"
        work = ", ".join(result.new_work) or "waits for something history does not hold"
        result.actual = f"did not finish: {work}"
        result.message = (f"history recorded the end of the orchestration ({recorded}) at event "
                          f"{terminal_id} but the code instead {result.actual}")
        return
    if result.outcome != recorded:
        result.ok, result.outcome_mismatch = False, True
        result.message = f"the recorded execution {recorded}, the code now {result.outcome}"
        return
    if recorded == "completed" and result.output != result.recorded_output:
        result.ok, result.outcome_mismatch = False, True
        result.message = (f"output differs: recorded {json.dumps(result.recorded_output)}, "
                          f"the code now returns {json.dumps(result.output)}")
    elif recorded == "continued_as_new":
        new_input = next((loads_or_raw(json.loads(e).get("input")) for e in raw["new_events"]
                          if _kind_name(json.loads(e)) == "OrchestrationContinuedAsNew"), None)
        if new_input != result.recorded_output:
            result.ok, result.outcome_mismatch = False, True
            result.message = (f"continue-as-new input differs: recorded "
                              f"{json.dumps(result.recorded_output)}, the code now passes "
                              f"{json.dumps(new_input)}")
    elif recorded == "failed" and recorded_error is not None:
        _, recorded_message = _error_text(recorded_error)
        if _last_line(recorded_message) != _last_line(str(raw["error"])):
            result.ok, result.outcome_mismatch = False, True
            result.message = (f"error differs: recorded {_last_line(recorded_message)!r}, the "
                              f"code now fails with {_last_line(str(raw['error']))!r}")


def _histories_from(source: Any, instance_id: Optional[str], client: Any) -> ExportedHistory:
    if isinstance(source, ExportedHistory):
        return source
    if isinstance(source, dict):
        return ExportedHistory.from_dict(source)
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[1], str):
        return read_history(source[0], source[1])
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if os.path.isfile(path):
            loaded = load_histories([path])
            if instance_id is not None:
                loaded = [h for h in loaded if h.instance_id == instance_id]
            if len(loaded) != 1:
                raise InvalidArgumentError(
                    f"{path} holds {len(loaded)} histories; pass instance_id=")
            return loaded[0]
        if client is None:
            raise InvalidArgumentError(
                f"replay({path!r}): not a history file; to replay an instance from "
                "a store pass client= (or provider=)")
        return read_history(client, path)
    if isinstance(source, (list, tuple)):
        events: List[Dict[str, Any]] = []
        for e in source:
            if isinstance(e, dict):
                events.append(e)
            elif isinstance(e, str):
                events.append(json.loads(e))
            elif hasattr(e, "raw"):
                events.append(json.loads(e.raw))
            else:
                raise InvalidTypeError(
                    f"history events must be duroxide.Event, dict or JSON str, not "
                    f"{type(e).__name__}")
        if not events:
            raise InvalidArgumentError("replay: the history is empty")
        started = events[0]
        return ExportedHistory(instance_id or "replay", str(started.get("name", "")),
                               str(started.get("version") or ""), "",
                               [ExportedExecution(1, events)])
    raise InvalidTypeError(f"replay: cannot read a history from {type(source).__name__}")


def replay(history_or_instance: Any, registry: Any, client: Any = None, *,
           provider: Any = None, instance_id: Optional[str] = None,
           execution_id: Optional[int] = None) -> ReplayResult:
    """Replays a recorded history against `registry`'s current code.

    `history_or_instance` is an instance id (with `client` or `provider`), a
    `(client, instance_id)` pair, a list of `duroxide.Event` (from
    `client.read_execution_history`; pass `instance_id` if the code uses `ctx.instance_id`), a
    history file written by `duroxide export-history`, or an `ExportedHistory`. The current
    (last) execution is replayed unless `execution_id` is given.

    Runs no activity and writes nothing. Returns a ReplayResult (truthy when the code follows
    the history); call `.check()` to raise NondeterminismError instead.
    """
    if client is None and provider is not None:
        client = Client(provider)
    if client is not None and not hasattr(client, "read_execution_history"):
        client = Client(client)  # a provider passed positionally
    history = _histories_from(history_or_instance, instance_id, client)
    if not history.executions:
        raise InvalidArgumentError(
            f"replay: instance {history.instance_id} has no recorded execution")
    index = len(history.executions) - 1
    if execution_id is not None:
        ids = [e.execution_id for e in history.executions]
        if execution_id not in ids:
            raise InvalidArgumentError(
                f"replay: execution {execution_id} of {history.instance_id} is not "
                f"recorded (have {ids})")
        index = ids.index(execution_id)
    return _replay_execution(history, index, registry_functions(registry))


def replay_exported(histories: Sequence[ExportedHistory], registry: Any,
                    all_executions: bool = False) -> Iterator[ReplayResult]:
    """Replays each history's current execution (or every execution) against `registry`."""
    functions = registry_functions(registry)
    for h in histories:
        if not h.executions:
            continue
        indexes = range(len(h.executions)) if all_executions else [len(h.executions) - 1]
        for i in indexes:
            yield _replay_execution(h, i, functions)


def parse_since(text: str, now_ms: Optional[int] = None) -> int:
    """Epoch ms from `1700000000000`, `2026-01-31`, `2026-01-31T12:00:00Z` or `7d`/`12h`/`30m`."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    text = text.strip()
    if re.fullmatch(r"\d{10,}", text):
        return int(text)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", text)
    if m:
        unit = {"s": 1000, "m": 60000, "h": 3600000, "d": 86400000, "w": 604800000}[m.group(2)]
        return now_ms - int(float(m.group(1)) * unit)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgumentError(
            f"invalid time {text!r}: use epoch ms, an ISO date or datetime, or an "
            "age like 7d, 12h, 30m") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1000)
