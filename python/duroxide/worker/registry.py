"""Registry: orchestration and activity registrations that live apart from any runtime.

A module can declare its workflows on a `Registry` without opening a store; a script serves it
with `Runtime(provider, options, registry=reg)` and the command line with
`duroxide worker module:reg`. `Runtime` has the same `register_*` methods (the reference's
API, class Registrations); they add to the runtime's own registry.
"""

from __future__ import annotations

from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterator,
    List,
    Optional,
    Tuple,
    TypeVar,
    Union,
    overload,
)

from duroxide.client.schedules import SCHEDULE_FIELDS, check_schedule
from duroxide.errors import InvalidArgumentError, InvalidTypeError
from duroxide.workflow.actors import ActorType, _actor_types
from duroxide.workflow.flow import Limit, check_limit_name, register_activity_limit
from duroxide.workflow.graphs import TaskFunction, task_decorator
from duroxide.workflow.requirements import register_requirement

# A registered function: the decorators return it unchanged, so its type is kept.
F = TypeVar("F", bound=Callable[..., Any])

_SYSCALL_PREFIX = "__duroxide_syscall:"
DEFAULT_VERSION = "1.0.0"


def check_name(kind: str, name: Any) -> None:
    """Raises TypeError/ValueError for a registration name users may not use."""
    if not isinstance(name, str) or not name:
        raise InvalidTypeError(f"{kind} name must be a non-empty str, got {name!r}")
    if name.startswith(_SYSCALL_PREFIX):
        raise InvalidArgumentError(f"{kind} names starting with {_SYSCALL_PREFIX!r} are reserved")


def _check_callable(kind: str, name: str, fn: Any) -> None:
    if not callable(fn):
        raise InvalidTypeError(f"{kind} '{name}' must be callable, got {type(fn).__name__}")


class ActivityEntry:
    """One registered activity: its function and registration options."""

    __slots__ = ("name", "fn", "options")

    def __init__(self, name: str, fn: Callable[..., Any], options: Dict[str, Any]):
        self.name = name
        self.fn = fn
        self.options = options


# Listener signature: (kind, key, entry) with kind "activity" (key: name, entry: ActivityEntry)
# or "orchestration" (key: (name, version), entry: the function).
Listener = Callable[[str, Any, Any], None]


FAILURE_POLICIES = ("fail", "suspend")


def check_failure_policy(value: Any, what: str) -> str:
    if value not in FAILURE_POLICIES:
        raise InvalidArgumentError(f"{what} must be 'fail' or 'suspend', got {value!r}")
    return str(value)


class DeclaredSchedule:
    """A schedule declared in code: its full spec and the options the declaration gave."""

    __slots__ = ("spec", "given")

    def __init__(self, spec: Dict[str, Any], given: FrozenSet[str]) -> None:
        self.spec = spec
        self.given = given


class Registrations:
    """The registration methods of Registry and of Runtime (which registers into its own
    Registry), written once: each applies to the Registry `_registrations()` returns."""

    def _registrations(self) -> "Registry":
        raise NotImplementedError

    @overload
    def register_activity(self, name: str, fn: None = None,
                          **options: Any) -> Callable[[F], F]: ...
    @overload
    def register_activity(self, name: str, fn: F, **options: Any) -> F: ...

    def register_activity(self, name: str, fn: Optional[F] = None,
                          **options: Any) -> Union[F, Callable[[F], F]]:
        """Registers activity `name`; usable as a decorator or a direct call.

        Options: `requires` (a JSON Schema, draft 2020-12, that a worker's capabilities must
        satisfy; an invalid schema raises InvalidArgumentError with the validator's message),
        `requires_timeout_ms` (fail instead of waiting longer for a capable worker) and
        `limit` (the named limit its calls respect unless a call names its own;
        docs/flow-control.md).
        """
        check_name("activity", name)
        if "requires" in options or "requires_timeout_ms" in options:
            register_requirement(name, options.get("requires"),
                                 options.get("requires_timeout_ms"))
        # Process-wide by name (like `requires`): a registration without `limit` clears it.
        register_activity_limit(name, options.get("limit"))

        reg = self._registrations()

        def register(f: F) -> F:
            _check_callable("activity", name, f)
            entry = ActivityEntry(name, f, dict(options))
            reg._activities[name] = entry
            reg._notify("activity", name, entry)
            return f

        return register(fn) if fn is not None else register

    register_activity_typed = register_activity

    @overload
    def task(self, fn: Callable[..., Any], *, name: Optional[str] = None,
             requires: Any = None, retry: Optional[Dict[str, Any]] = None, cache: Any = None,
             requires_timeout_ms: Optional[int] = None) -> TaskFunction:
        ...

    @overload
    def task(self, fn: Optional[str] = None, *, name: Optional[str] = None,
             requires: Any = None, retry: Optional[Dict[str, Any]] = None, cache: Any = None,
             requires_timeout_ms: Optional[int] = None
             ) -> Callable[[Callable[..., Any]], TaskFunction]:
        ...

    def task(self, fn: Union[Callable[..., Any], str, None] = None, *,
             name: Optional[str] = None,
             requires: Any = None, retry: Optional[Dict[str, Any]] = None, cache: Any = None,
             requires_timeout_ms: Optional[int] = None) -> Any:
        """Declares a distributed function (docs/task-graphs.md): `@reg.task(...)` or
        `@runtime.task(...)`.

        Calling the result returns a lazy TaskHandle; the function itself runs on a worker
        (registered as activity `name`, default the function's name).
        """
        return task_decorator(lambda n, f: self.register_activity(n, f), fn, name, requires,
                              retry, cache, requires_timeout_ms)

    @overload
    def register_orchestration(self, name: str, fn: None = None, *,
                               on_failure: Optional[str] = None) -> Callable[[F], F]: ...
    @overload
    def register_orchestration(self, name: str, fn: F, *,
                               on_failure: Optional[str] = None) -> F: ...

    def register_orchestration(self, name: str, fn: Optional[F] = None, *,
                               on_failure: Optional[str] = None) -> Union[F, Callable[[F], F]]:
        """Registers orchestration `name` at version 1.0.0; decorator or direct call.

        `on_failure`: "fail" (an instance whose code raises, is found nondeterministic or is
        not registered ends Failed) or "suspend" (it is suspended instead, with the error as
        its reason; resume_instance retries the failed turn under the code that runs then).
        None: RuntimeOptions.on_orchestration_failure decides (docs/operations.md).
        """
        if on_failure is not None:
            check_failure_policy(on_failure, "register_orchestration on_failure")
            reg = self._registrations()
            reg._on_failure[name] = on_failure
            reg._notify("on_failure", name, on_failure)
        return self.register_orchestration_versioned(name, DEFAULT_VERSION, fn)

    register_orchestration_typed = register_orchestration

    @overload
    def register_orchestration_versioned(self, name: str, version: str,
                                         fn: None = None) -> Callable[[F], F]: ...
    @overload
    def register_orchestration_versioned(self, name: str, version: str, fn: F) -> F: ...

    def register_orchestration_versioned(self, name: str, version: str,
                                         fn: Optional[F] = None) -> Union[F, Callable[[F], F]]:
        """Registers `name` at semver `version`; new starts use the latest version."""
        check_name("orchestration", name)
        if not isinstance(version, str):
            raise InvalidTypeError(f"version must be a str like '1.0.1', got {version!r}")

        reg = self._registrations()

        def register(f: F) -> F:
            _check_callable("orchestration", name, f)
            reg._orchestrations[(name, version)] = f
            reg._notify("orchestration", (name, version), f)
            return f

        return register(fn) if fn is not None else register

    register_orchestration_versioned_typed = register_orchestration_versioned

    def schedule(self, schedule_id: str, orchestration: str, **options: Any) -> None:
        """Declares a durable schedule in code (docs/schedules.md).

        Takes the options of ClientAPI.create_schedule (input, cron, every_ms, version,
        timezone, overlap, catchup_window_ms, jitter_ms, start_at_ms, end_at_ms, paused,
        note). A runtime serving these registrations upserts it when it starts: created if
        missing, updated if an option differs, left alone otherwise. `paused` is only
        compared when given, so a schedule paused by an operator stays paused across
        restarts. Removing the declaration does not delete the schedule.

        Raises:
            InvalidArgumentError: a bad option (checked now, before any runtime starts).
        """
        unknown = sorted(set(options) - set(SCHEDULE_FIELDS))
        if unknown:
            raise InvalidArgumentError(
                f"schedule: unknown option(s) {', '.join(unknown)}; expected some of "
                + ", ".join(SCHEDULE_FIELDS))
        spec = {"schedule_id": schedule_id, "orchestration": orchestration,
                **SCHEDULE_FIELDS, **options}
        check_schedule(spec)
        declared = DeclaredSchedule(spec, frozenset(options) | {"orchestration"})
        reg = self._registrations()
        reg._schedules[schedule_id] = declared
        reg._notify("schedule", schedule_id, declared)

    def limit(self, name: str, limit: Limit) -> None:
        """Declares named limit `name` in code (docs/flow-control.md). A runtime serving these
        registrations upserts it when it starts (set_limit; unchanged settings are left as
        they are). Removing the declaration does not delete the limit.

        Raises:
            InvalidArgumentError / InvalidTypeError: a bad name or not a Limit.
        """
        check_limit_name(name)
        if not isinstance(limit, Limit):
            raise InvalidTypeError(f"limit must be a duroxide.Limit, not {type(limit).__name__}")
        reg = self._registrations()
        reg._limits[name] = limit
        reg._notify("limit", name, limit)

    def register_actor(self, name: str, messages_per_execution: int = 100) -> ActorType:
        """Registers actor type `name` (docs/messaging.md); returns its ActorType.

        Decorate the handlers with the result: @actor.on_message, @actor.on_event(topic).
        The actor's loop is the orchestration "__duroxide_actor__:<name>"; it continues as
        new every `messages_per_execution` messages.
        """
        actor = ActorType(name, messages_per_execution)
        self.register_orchestration(actor.orchestration_name, actor.loop)
        _actor_types[name] = actor
        return actor


class Registry(Registrations):
    """Orchestrations and activities, registered by decorator or direct call.

    Thread-safety: registration is meant for import time; do not register concurrently.
    """

    def __init__(self) -> None:
        self._activities: Dict[str, ActivityEntry] = {}
        self._orchestrations: Dict[Tuple[str, str], Callable[..., Any]] = {}
        self._on_failure: Dict[str, str] = {}  # orchestration name -> "fail" | "suspend"
        self._schedules: Dict[str, DeclaredSchedule] = {}
        self._limits: Dict[str, Limit] = {}
        self._listeners: List[Listener] = []

    def _registrations(self) -> "Registry":
        return self

    def include(self, other: "Registry") -> None:
        """Adds every registration of `other` to this registry (later ones win)."""
        tables: List[Tuple[str, Dict[Any, Any], Dict[Any, Any]]] = [
            ("activity", self._activities, other._activities),
            ("on_failure", self._on_failure, other._on_failure),
            ("orchestration", self._orchestrations, other._orchestrations),
            ("schedule", self._schedules, other._schedules),
            ("limit", self._limits, other._limits)]
        for kind, mine, theirs in tables:
            for key, value in theirs.items():
                mine[key] = value
                self._notify(kind, key, value)

    # ---- reading ---------------------------------------------------------------------------
    def activities(self) -> Iterator[ActivityEntry]:
        """The registered activities, in registration order."""
        return iter(list(self._activities.values()))

    def orchestrations(self) -> Iterator[Tuple[str, str, Callable[..., Any]]]:
        """(name, version, function) for every registered orchestration."""
        return iter([(n, v, f) for (n, v), f in self._orchestrations.items()])

    def activity_names(self) -> List[str]:
        return list(self._activities)

    def orchestration_names(self) -> List[Tuple[str, str]]:
        return list(self._orchestrations)

    def get_activity(self, name: str) -> Optional[ActivityEntry]:
        return self._activities.get(name)

    def get_orchestration(self, name: str, version: Optional[str] = None
                          ) -> Optional[Callable[..., Any]]:
        """The function for name@version, or for the latest version of name when None."""
        if version is not None:
            return self._orchestrations.get((name, version))
        versions = [v for (n, v) in self._orchestrations if n == name]
        if not versions:
            return None
        return self._orchestrations[(name, max(versions, key=_semver_key))]

    def schedules(self) -> List["DeclaredSchedule"]:
        """The schedules declared with schedule(), in declaration order."""
        return list(self._schedules.values())

    def __len__(self) -> int:
        return len(self._activities) + len(self._orchestrations)

    def __repr__(self) -> str:
        return (f"Registry(orchestrations={sorted(set(n for n, _ in self._orchestrations))}, "
                f"activities={sorted(self._activities)})")

    # ---- listeners (runtimes that serve this registry) -------------------------------------
    def _subscribe(self, listener: Listener) -> None:
        """Calls `listener` for every registration, existing ones first."""
        for name, entry in self._activities.items():
            listener("activity", name, entry)
        for key, fn in self._orchestrations.items():
            listener("orchestration", key, fn)
        for schedule_id, declared in self._schedules.items():
            listener("schedule", schedule_id, declared)
        for name, limit in self._limits.items():
            listener("limit", name, limit)
        self._listeners.append(listener)

    def _unsubscribe(self, listener: Listener) -> None:
        """Stops calling `listener` (a closed runtime no longer follows this registry)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self, kind: str, key: Any, entry: Any) -> None:
        for listener in list(self._listeners):
            listener(kind, key, entry)


def _semver_key(version: str) -> Tuple[int, ...]:
    parts = []
    for piece in version.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)
