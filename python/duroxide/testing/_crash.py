"""Crash injection: prove that a workflow survives a crash at every commit point.

`crash_test(registry, start=..., expect=...)` first runs the orchestration without
interruption, recording the order in which user code is entered: each turn of each instance
(the runtime runs a turn, then commits it atomically) and each activity call. It then runs the
orchestration again once per crash point, on a fresh SQLite file store:

* `before_commit` of turn k: the runtime dies while turn k runs; nothing of it is committed;
* `after_commit` of turn k: turn k is committed, the runtime dies before doing anything else
  (before the activities or timers that turn scheduled are started);
* `during_activity` call j: the activity body has run (its side effects happened) but the
  runtime dies before its result is recorded, so the activity runs again after the restart.

A crash is simulated in-process: the thread that reached the point is frozen, the runtime is
shut down without waiting (its held work is handed back, as lock expiry would after a real
crash) and every in-memory object is dropped; a new provider and runtime are opened on the same
database file and finish the orchestration. With `mode="process"` the runtime runs in a child
process that kills itself with SIGKILL at the point (the registry must then be importable as
MODULE:ATTR, found automatically or given as `registry_spec`).

After each run the final status and output, the custom status, the instance's KV values and
`effects()` (a snapshot of whatever external state the activities change) must equal those of
the uninterrupted run, and `expect` must hold. A non-idempotent activity shows up as different
effects at its `during_activity` point. Failures raise CrashTestFailure naming the crash point.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from duroxide._common import loads_or_raw
from duroxide._providers import SqliteProvider
from duroxide.client.native import Client
from duroxide.errors import CrashTestFailure, DuroxideError, InvalidArgumentError, InvalidTypeError
from duroxide.worker.loader import as_registry
from duroxide.worker.options import RuntimeOptions
from duroxide.worker.registry import Registry
from duroxide.worker.runtime import Runtime

__all__ = ["CrashPoint", "CrashTestFailure", "CrashTestReport", "crash_test"]

_UNSET: Any = object()
KINDS = ("before_commit", "after_commit", "during_activity")


class _SimulatedCrash(Exception):
    """Raised in a frozen thread once a crash test releases it (its work is stale by then)."""


@dataclass(frozen=True)
class CrashPoint:
    """Where a run is crashed. `turn` counts the instance's turns; `call` the activity's calls."""

    kind: str
    name: str
    instance_id: str = ""
    turn: int = 0
    call: int = 0

    def describe(self) -> str:
        if self.kind == "during_activity":
            return (f"during activity '{self.name}' (call {self.call}): after it ran, before its "
                    f"result was recorded")
        when = "before" if self.kind == "before_commit" else "after"
        return f"{when} the commit of turn {self.turn} of {self.name} ({self.instance_id})"

    def __str__(self) -> str:
        return self.describe()

    def to_dict(self) -> Dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "instance_id": self.instance_id,
                "turn": self.turn, "call": self.call}


@dataclass
class RunOutcome:
    status: str
    output: Any
    error: Optional[str]
    custom_status: Optional[str]
    kv: Dict[str, str]
    effects: Any
    crashed: bool = False

    def comparable(self) -> Dict[str, Any]:
        error = self.error.strip().splitlines()[-1] if self.error else None
        return {"status": self.status, "output": self.output, "error": error,
                "custom_status": self.custom_status, "kv": self.kv, "effects": self.effects}


@dataclass
class CrashTestReport:
    """What crash_test did: the points tried and the ones that broke an assertion."""

    points: List[CrashPoint] = field(default_factory=list)
    failures: List[Tuple[CrashPoint, str]] = field(default_factory=list)
    not_reached: List[CrashPoint] = field(default_factory=list)
    reference: Optional[RunOutcome] = None

    @property
    def ok(self) -> bool:
        return not self.failures

    def __bool__(self) -> bool:
        return self.ok

    def summary(self) -> str:
        lines = [f"crash test: {len(self.points)} crash points, {len(self.failures)} failed"]
        for point, message in self.failures:
            lines.append(f"  FAILED {point.describe()}:\n    " + message.replace("\n", "\n    "))
        return "\n".join(lines)

    __str__ = summary


# ---- hooks around user code ---------------------------------------------------------------


class _Hook:
    """Counts entries into user code and freezes the thread that reaches the crash point."""

    def __init__(self, target: Optional[CrashPoint], on_crash: Optional[Callable[[], None]] = None):
        self.target = target
        self.on_crash = on_crash
        self.lock = threading.Lock()
        self.trace: List[Tuple[str, str, str, int]] = []  # (kind, instance, name, number)
        self.turns: Counter = Counter()  # type: ignore[type-arg]
        self.calls: Counter = Counter()  # type: ignore[type-arg]
        self.armed = False
        self.active = True
        self.crashed = threading.Event()
        self.release = threading.Event()
        self.frozen = 0

    def _hit(self, kind: str, instance: str, name: str, number: int) -> bool:
        """Records an entry; True when the thread must crash here. REQUIRES: self.lock held."""
        if not self.active:
            return False
        t = self.target
        if kind != "activity_end":
            self.trace.append((kind, instance, name, number))
        if t is None:
            return False
        if self.armed and kind != "activity_end":
            return True
        if kind == "turn" and t.kind in ("before_commit", "after_commit") and \
                t.instance_id == instance and t.turn == number:
            if t.kind == "before_commit":
                return True
            self.armed = True
        if kind == "activity_end" and t.kind == "during_activity" and t.name == name and \
                t.call == number:
            return True
        return False

    def enter(self, kind: str, instance: str, name: str) -> int:
        with self.lock:
            if kind == "turn":
                self.turns[instance] += 1
                number = int(self.turns[instance])
            else:
                self.calls[name] += 1
                number = int(self.calls[name])
            crash = self._hit(kind, instance, name, number)
            if crash:
                self.active = False
        if crash:
            self._crash()
        return number

    def leave_activity(self, name: str, number: int) -> None:
        with self.lock:
            crash = self._hit("activity_end", "", name, number)
            if crash:
                self.active = False
        if crash:
            self._crash()

    def _crash(self) -> None:
        if self.on_crash is not None:
            self.on_crash()  # process mode: never returns
        with self.lock:
            self.frozen += 1
        self.crashed.set()
        self.release.wait()
        raise _SimulatedCrash("simulated crash: this runtime is dead")


def _wrap_registry(registry: Registry, hook: _Hook) -> Registry:
    wrapped = Registry()
    for entry in registry.activities():
        wrapped.register_activity(entry.name, _wrap_activity(entry.name, entry.fn, hook),
                                  **entry.options)
    for name, version, fn in registry.orchestrations():
        wrapped.register_orchestration_versioned(name, version, _wrap_orchestration(name, fn, hook))
    return wrapped


def _wrap_orchestration(name: str, fn: Callable[..., Any], hook: _Hook) -> Callable[..., Any]:
    def orchestration(ctx: Any, input: Any) -> Any:
        hook.enter("turn", ctx.instance_id, name)
        return fn(ctx, input)

    orchestration.__name__ = getattr(fn, "__name__", name)
    return orchestration


def _wrap_activity(name: str, fn: Callable[..., Any], hook: _Hook) -> Callable[..., Any]:
    def activity(ctx: Any, input: Any) -> Any:
        number = hook.enter("activity", ctx.instance_id, name)
        result = fn(ctx, input)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
        hook.leave_activity(name, number)
        return result

    activity.__name__ = getattr(fn, "__name__", name)
    return activity


# ---- runs ---------------------------------------------------------------------------------


def _start_args(start: Any) -> Tuple[str, Any, Optional[str], Optional[str]]:
    """(name, input, instance_id, version) from the `start` argument."""
    if isinstance(start, str):
        return start, None, None, None
    if isinstance(start, tuple) and 1 <= len(start) <= 2:
        return str(start[0]), (start[1] if len(start) > 1 else None), None, None
    if isinstance(start, dict) and "name" in start:  # also "instance_id", "version"
        return (str(start["name"]), start.get("input"), start.get("instance_id"),
                start.get("version"))
    raise InvalidTypeError("crash_test: start must be a name, (name, input) or {'name': ..., "
                           "'input': ..., 'instance_id': ..., 'version': ...}")


def _options(lock_ms: int) -> Any:
    # Cold replay on every turn, so each turn enters the orchestration function once.
    return RuntimeOptions(dispatcher_poll_interval_ms=10, orchestration_concurrency=1,
                          worker_concurrency=1, warm_cache_capacity=0,
                          worker_lock_timeout_ms=max(lock_ms, 100),
                          orchestrator_lock_timeout_ms=max(lock_ms, 100))


def _system_values(client: Any, instance_id: str) -> Dict[Any, str]:
    """Values that ctx.new_guid() / ctx.utc_now() returned in this run, with a stable name
    each ("<new_guid#1>"), so that runs can be compared although every run draws new ones."""
    names: Dict[Any, str] = {}
    counts: Counter = Counter()  # type: ignore[type-arg]
    for execution in client.list_executions(instance_id):
        scheduled: Dict[int, str] = {}
        for e in client.read_execution_history(instance_id, execution):
            raw = json.loads(e.raw)
            name = str(raw.get("name", ""))
            if raw.get("type") == "ActivityScheduled" and name.startswith("__duroxide_syscall:"):
                scheduled[int(raw["event_id"])] = name.split(":", 1)[1]
            elif raw.get("type") == "ActivityCompleted" and raw.get("source_event_id") in scheduled:
                call = scheduled[raw["source_event_id"]]
                counts[call] += 1
                value = loads_or_raw(raw.get("result", "null"))
                names.setdefault(value, f"<{call}#{counts[call]}>")
    return names


def _normalized(value: Any, names: Dict[Any, str]) -> Any:
    if isinstance(value, dict):
        return {_normalized(k, names): _normalized(v, names) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalized(v, names) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)) and value in names:
        return names[value]
    if isinstance(value, str):
        for raw, name in names.items():
            if isinstance(raw, str) and raw:
                value = value.replace(raw, name)
        return value
    return value


def _finish(client: Any, instance_id: str, timeout_s: float,
            effects: Optional[Callable[[], Any]]) -> RunOutcome:
    result = client.wait_for_orchestration(instance_id, int(timeout_s * 1000))
    kv = dict(client._management.get_kv_all(instance_id))
    names = _system_values(client, instance_id)
    return RunOutcome(result.status, _normalized(result.output, names), result.error,
                      _normalized(result.custom_status, names), _normalized(kv, names),
                      _normalized(effects() if effects is not None else None, names))


class _Run:
    """One run of the orchestration on a fresh database file, optionally crashed."""

    def __init__(self, registry: Registry, start: Any, workdir: str, timeout_s: float,
                 effects: Optional[Callable[[], Any]]):
        self.registry, self.start = registry, start
        self.timeout_s, self.effects = timeout_s, effects
        self.db = os.path.join(workdir, f"run-{time.monotonic_ns()}.db")

    def _begin(self, client: Any) -> str:
        if callable(self.start):
            # start(client) starts the instance itself and returns its id (or None: the only
            # instance in the store).
            started = self.start(client)
            if isinstance(started, str):
                return started
            ids = client.list_all_instances()
            if len(ids) != 1:
                raise DuroxideError("crash_test: start(client) must return the instance id "
                                    f"(the store holds {len(ids)} instances)")
            return str(ids[0])
        name, input, instance_id, version = _start_args(self.start)
        instance_id = instance_id or f"crash-test-{name}"
        if version is None:
            client.start_orchestration(instance_id, name, input)
        else:
            client.start_orchestration_versioned(instance_id, name, input, version)
        return instance_id

    def _recover(self, instance_id: str, hook: _Hook) -> RunOutcome:
        provider = SqliteProvider.open(self.db)  # nothing of the dead runtime is reused
        client = Client(provider)
        rt = Runtime(provider, _options(5000), registry=_wrap_registry(self.registry, hook))
        rt.start()
        try:
            outcome = _finish(client, instance_id, self.timeout_s, self.effects)
        finally:
            rt.shutdown(2000)
        outcome.crashed = True
        return outcome

    def in_process(self, target: Optional[CrashPoint]) -> Tuple[RunOutcome, _Hook]:
        hook = _Hook(target)
        provider: Any = SqliteProvider.open(self.db)
        client: Any = Client(provider)
        wrapped = _wrap_registry(self.registry, hook)
        rt: Optional[Runtime] = Runtime(provider, _options(5000), registry=wrapped)
        assert rt is not None
        rt.start()
        try:
            instance_id = self._begin(client)
            deadline = time.monotonic() + self.timeout_s
            while not hook.crashed.is_set():
                if client.get_status(instance_id).status in ("Completed", "Failed"):
                    break
                if time.monotonic() > deadline:
                    raise DuroxideError(f"crash test: {instance_id} did not finish within "
                                        f"{self.timeout_s} s")
                hook.crashed.wait(0.005)
            if not hook.crashed.is_set():
                with hook.lock:
                    hook.active = False
                return _finish(client, instance_id, self.timeout_s, self.effects), hook
            rt.shutdown(0)  # the crash: in-flight work is handed back, nothing else is saved
            rt = client = provider = None  # and every in-memory object is dropped
            return self._recover(instance_id, hook), hook
        finally:
            hook.release.set()  # the frozen thread raises; its stale commit is rejected
            if rt is not None:
                rt.shutdown(2000)

    def in_child_process(self, target: CrashPoint, registry_spec: str) -> Tuple[RunOutcome, bool]:
        client = Client(SqliteProvider.open(self.db))
        instance_id = self._begin(client)
        child = subprocess.run(
            [sys.executable, "-m", "duroxide.testing._crash_child", registry_spec, self.db,
             instance_id, json.dumps(target.to_dict()), str(self.timeout_s)],
            capture_output=True, text=True, timeout=self.timeout_s + 30, check=False,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
        killed = child.returncode < 0
        if not killed and child.returncode != 0:
            raise DuroxideError(f"crash test child process failed ({child.returncode}):\n"
                                f"{child.stderr[-2000:]}")
        hook = _Hook(None)
        hook.active = False
        return self._recover(instance_id, hook), killed


def _points_from(trace: List[Tuple[str, str, str, int]], kinds: Sequence[str]) -> List[CrashPoint]:
    points: List[CrashPoint] = []
    for kind, instance, name, number in trace:
        if kind == "turn":
            if "before_commit" in kinds:
                points.append(CrashPoint("before_commit", name, instance, turn=number))
            if "after_commit" in kinds:
                points.append(CrashPoint("after_commit", name, instance, turn=number))
        elif kind == "activity" and "during_activity" in kinds:
            points.append(CrashPoint("during_activity", name, instance, call=number))
    return points


def _check_expect(expect: Any, outcome: RunOutcome) -> Optional[str]:
    if expect is _UNSET:
        return None
    if callable(expect):
        try:
            params = len(inspect.signature(expect).parameters)
        except (TypeError, ValueError):
            params = 1
        try:
            verdict = expect(outcome.output, outcome.effects) if params >= 2 else \
                expect(outcome.output)
        except AssertionError as exc:
            return f"expect failed: {exc}"
        return None if verdict is None or verdict else f"expect returned {verdict!r}"
    if outcome.status != "Completed":
        return f"expected output {expect!r}, but the instance {outcome.status}: {outcome.error}"
    if outcome.output != expect:
        return f"expected output {expect!r}, got {outcome.output!r}"
    return None


def _diff(reference: RunOutcome, got: RunOutcome) -> Optional[str]:
    ref, now = reference.comparable(), got.comparable()
    lines = [f"{key}: uninterrupted run {json.dumps(ref[key], default=str)}, "
             f"crashed run {json.dumps(now[key], default=str)}"
             for key in ref if ref[key] != now[key]]
    return "\n".join(lines) if lines else None


def _find_spec(registry: Registry) -> Optional[str]:
    for module_name, module in list(sys.modules.items()):
        for attr, value in list(getattr(module, "__dict__", {}).items()):
            if value is registry and module_name != "__main__":
                return f"{module_name}:{attr}"
    return None


def crash_test(registry: Any, start: Any, expect: Any = _UNSET, *,
               effects: Optional[Callable[[], Any]] = None,
               reset: Optional[Callable[[], None]] = None,
               points: Optional[Sequence[str]] = None, mode: str = "in_process",
               registry_spec: Optional[str] = None, timeout_s: float = 30.0,
               raise_on_failure: bool = True) -> CrashTestReport:
    """Runs `start` once per crash point and checks each run against an uninterrupted one.

    `start`: the orchestration name, (name, input), {"name", "input", "instance_id",
    "version"}, or a callable start(client) that starts it and returns its instance id.
    `expect`: the expected output, or a callable `expect(output)` /
    `expect(output, effects)` that asserts (or returns False). `effects()`: a snapshot of the
    external state the activities change (compared with the uninterrupted run); `reset()`:
    called before every run to clear that state. `points`: which kinds of crash points to try
    (default all: "before_commit", "after_commit", "during_activity"). `mode`: "in_process"
    (simulated crash) or "process" (a child process killed with SIGKILL).

    Returns a CrashTestReport; raises CrashTestFailure naming the crash point(s) that broke an
    assertion unless raise_on_failure=False.
    """
    registry = as_registry(registry)
    kinds = tuple(points) if points is not None else KINDS
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise InvalidArgumentError(f"crash_test: unknown crash point kinds {unknown} (use {KINDS})")
    if mode not in ("in_process", "process"):
        raise InvalidArgumentError("crash_test: mode must be 'in_process' or 'process'")
    if mode == "process":
        registry_spec = registry_spec or _find_spec(registry)
        if registry_spec is None:
            raise InvalidArgumentError(
                "crash_test(mode='process'): the registry must be importable; "
                "pass registry_spec='module:attr'")
    report = CrashTestReport()
    workdir = tempfile.mkdtemp(prefix="duroxide-crash-")
    try:
        if reset is not None:
            reset()
        reference, hook = _Run(registry, start, workdir, timeout_s, effects).in_process(None)
        report.reference = reference
        problem = _check_expect(expect, reference)
        if problem is not None:
            raise DuroxideError(f"crash_test: the uninterrupted run already fails: {problem}")
        report.points = _points_from(hook.trace, kinds)
        for point in report.points:
            if reset is not None:
                reset()
            run = _Run(registry, start, workdir, timeout_s, effects)
            if mode == "process":
                outcome, crashed = run.in_child_process(point, str(registry_spec))
            else:
                outcome, _ = run.in_process(point)
                crashed = outcome.crashed
            if not crashed:
                report.not_reached.append(point)
            problem = _diff(reference, outcome) or _check_expect(expect, outcome)
            if problem is not None:
                report.failures.append((point, problem))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if report.failures and raise_on_failure:
        raise CrashTestFailure(report)
    return report
