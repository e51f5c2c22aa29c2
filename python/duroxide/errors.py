"""The exceptions duroxide raises: one hierarchy under :class:`DuroxideError`.

Every error the package raises derives from ``DuroxideError``. Where programs written for the
reference package expect a built-in class, the duroxide class derives from that one too:

- ``StoreError`` (and its subclasses) and the lifecycle/tracing errors are ``RuntimeError``s,
  as ``api.md`` promises ``RuntimeError`` for provider, client and runtime failures;
- timeouts (``OperationTimedOutError``, ``ActivityTimeoutError``) are ``TimeoutError``s;
- ``InvalidArgumentError`` is a ``ValueError``.

Failures of user code that reach an orchestration (``ActivityFailedError``,
``SubOrchestrationFailedError``) are ``Exception``s carrying the recorded error details, so
``except Exception`` in orchestration code keeps working.

The native module translates core errors to these classes in one place
(cpp/duroxide/bindings/exceptions.cc), and ``duroxide._core`` exposes the same objects.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Dict, Optional, Type, TypeVar

__all__ = [
    "DuroxideError",
    "StoreError",
    "ProviderError",
    "NotFoundError",
    "InstanceAlreadyExistsError",
    "ScheduleAlreadyExistsError",
    "InvalidArgumentError",
    "InvalidTypeError",
    "FailedPreconditionError",
    "OperationTimedOutError",
    "RuntimeStateError",
    "ClosedError",
    "TracingError",
    "TaskFailedError",
    "ActivityFailedError",
    "ActivityTimeoutError",
    "SubOrchestrationFailedError",
    "GraphNodeFailedError",
    "OrchestrationFailedError",
    "RequestFailedError",
    "RequestTargetNotFoundError",
    "RequestTimedOutError",
    "NondeterminismError",
    "CrashTestFailure",
    "LintError",
]

_M = TypeVar("_M", bound="DuroxideError")


class DuroxideError(Exception):
    """Base class of every error duroxide raises.

    `code` names the class in a stable, language-neutral way: the C++ core raises by code
    (bindings/exceptions.cc), the REST server puts it in the problem document's `type`
    (`urn:duroxide:problem:<code>`) and HttpClient raises the class with that code
    (`error_class`). Codes never change once published.
    """

    code: ClassVar[str] = "error"

    @classmethod
    def from_message(cls: Type[_M], message: str) -> _M:
        """An instance carrying only `message`: how an error is rebuilt from its code and text
        (HttpClient). Classes whose constructor takes more than a message override it."""
        return cls(message)


class StoreError(DuroxideError, RuntimeError):
    """A store, client or management operation failed (a RuntimeError for compatibility)."""

    code = "store-error"


class ProviderError(StoreError):
    """The storage provider failed: cannot open/connect, or the store reported an error."""

    code = "provider-error"


class NotFoundError(StoreError):
    """The instance, execution or item does not exist."""

    code = "not-found"


class InstanceAlreadyExistsError(StoreError):
    """An instance with this id already exists."""

    code = "already-exists"


class ScheduleAlreadyExistsError(StoreError):
    """create_schedule: a schedule with this id exists (nothing is changed)."""

    code = "schedule-already-exists"


class InvalidArgumentError(StoreError, ValueError):
    """An argument was rejected (also a ValueError)."""

    code = "invalid-argument"


class InvalidTypeError(DuroxideError, TypeError):
    """An argument of the wrong type was passed to a public API (also a TypeError). Values
    that json.dumps cannot encode keep json's own TypeError."""

    code = "invalid-type"


class FailedPreconditionError(ProviderError):
    """The store refuses the operation in the current state: deleting a running instance
    without force or a sub-orchestration on its own, draining a stopped worker, a message to
    an instance that has ended, a store written by a newer duroxide (a ProviderError, as these
    were before they had a class of their own)."""

    code = "failed-precondition"


class OperationTimedOutError(StoreError, TimeoutError):
    """A wait ran out of time (also a RuntimeError and a TimeoutError)."""

    code = "timeout"


class RuntimeStateError(DuroxideError, RuntimeError):
    """The runtime cannot do this in its current state (e.g. start() after shutdown())."""

    code = "runtime-state"


class ClosedError(DuroxideError, RuntimeError):
    """The provider, client or runtime was closed; create a new one."""

    code = "closed"


class TracingError(DuroxideError, RuntimeError):
    """init_tracing failed: the log file cannot be opened or a subscriber is installed."""

    code = "tracing"


_PY_FAILURE = re.compile(r"^Activity '(?P<name>.*?)' call failed: (?P<type>[A-Za-z_][\w.]*): ?")


class TaskFailedError(DuroxideError):
    """A task an orchestration awaited failed; thrown into the orchestration generator.

    ``str(error)`` is the recorded error text (what the reference raised as a bare
    ``Exception``). Attributes:

    - ``category``: "Application", "Configuration", "Infrastructure" or "Poison";
    - ``type``: the Python exception type name when user code raised (e.g. "ValueError"),
      otherwise the core's error kind (e.g. "ActivityFailed", "OrchestrationFailed", "Timeout");
    - ``message``: the error message without the "Activity '<name>' call failed: <Type>: " prefix;
    - ``kind``: the core's error kind; ``source``: "activity" or "sub_orchestration";
    - ``traceback``: for a failed activity, where it failed as its worker recorded it (root
      cause first, duroxide's own frames last, at most 8 KiB); "" when not known.
    """

    code = "task-failed"
    source = ""

    def __init__(self, text: str, *, category: str = "Application", kind: str = "",
                 name: Optional[str] = None, traceback: str = "") -> None:
        super().__init__(text)
        self.traceback = traceback
        self.category = category
        self.kind = kind
        self.type = kind
        self.message = text
        self.name = name
        m = _PY_FAILURE.match(text)
        if m is not None:
            self.type = m.group("type")
            self.message = text[m.end():]
            if self.name is None:
                self.name = m.group("name")

    @property
    def details(self) -> dict[str, str]:
        """category, type and message as a dict."""
        return {"category": self.category, "type": self.type, "message": self.message}


class ActivityFailedError(TaskFailedError):
    """An activity failed (after its retries, if any)."""

    code = "activity-failed"
    source = "activity"


class ActivityTimeoutError(ActivityFailedError, TimeoutError):
    """An activity's per-attempt or total timeout fired (also a TimeoutError)."""

    code = "activity-timeout"


class SubOrchestrationFailedError(TaskFailedError):
    """A sub-orchestration ended Failed; the message is the child's error."""

    code = "sub-orchestration-failed"
    source = "sub_orchestration"


class GraphNodeFailedError(TaskFailedError):
    """A task-graph node failed (after its retries) or was not run because a dependency did;
    raised by the `yield` that awaited it (a duroxide.TaskFailedError).

    Attributes: task (name), node (id), error (the failure text), cause_task and cause_node
    (the node that actually failed; the same as task/node unless this one was not run).
    """

    code = "graph-node-failed"
    source = "task_graph"

    def __init__(self, message: str, task: str, node: int, error: str,
                 cause_task: str, cause_node: int) -> None:
        super().__init__(message, category="Application", kind="TaskGraphNodeFailed",
                         name=task)
        self.task = task
        self.node = node
        self.error = error
        self.cause_task = cause_task
        self.cause_node = cause_node

    @classmethod
    def from_message(cls, message: str) -> "GraphNodeFailedError":
        return cls(message, "", -1, message, "", -1)


class OrchestrationFailedError(DuroxideError):
    """An instance a caller waited for ended Failed: raised by wait_for_orchestration_typed
    (``str()`` is the instance's error) and by duroxide.testing.run_orchestration (``str()``
    names the instance too). Attributes: ``instance_id`` (None when not known), ``error``
    (the instance's error text) and ``result`` (the OrchestrationResult, when known)."""

    code = "orchestration-failed"

    def __init__(self, message: str, *, instance_id: Optional[str] = None,
                 error: Optional[str] = None, result: Any = None) -> None:
        super().__init__(message)
        self.instance_id = instance_id
        self.error = message if error is None else error
        self.result = result


class RequestFailedError(DuroxideError):
    """A request got an error reply, or its target completed, failed or does not exist."""

    code = "request-failed"


class RequestTargetNotFoundError(RequestFailedError, NotFoundError):
    """A client's request names an instance that does not exist (and is not an actor, which a
    request starts): refused before anything is sent. Both a RequestFailedError (what a
    request to a missing instance always raised) and a NotFoundError (404 over REST)."""

    code = "request-target-not-found"


class RequestTimedOutError(DuroxideError, TimeoutError):
    """No reply arrived before the request's (durable) timeout."""

    code = "request-timeout"


class NondeterminismError(DuroxideError):
    """The current code does not follow a recorded history (ReplayResult.check()); `result`
    is the duroxide.testing.ReplayResult (None when rebuilt from a message)."""

    code = "nondeterminism"

    def __init__(self, result: Any):
        super().__init__(result.report())
        self.result = result

    @classmethod
    def from_message(cls, message: str) -> "NondeterminismError":
        error = cls.__new__(cls)
        DuroxideError.__init__(error, message)
        error.result = None
        return error


class CrashTestFailure(DuroxideError, AssertionError):
    """A crash point of duroxide.testing.crash_test broke an assertion. `point` is the first
    such point, `report` the CrashTestReport (both None when rebuilt from a message)."""

    code = "crash-test-failed"

    def __init__(self, report: Any):
        super().__init__(report.summary())
        self.report = report
        self.point = report.failures[0][0] if report.failures else None

    @classmethod
    def from_message(cls, message: str) -> "CrashTestFailure":
        error = cls.__new__(cls)
        DuroxideError.__init__(error, message)
        error.report = None
        error.point = None
        return error


class LintError(DuroxideError):
    """A path the determinism linter cannot read (missing, unreadable, or not valid Python)."""

    code = "lint-error"


def task_failure(text: str, source: str, category: str, kind: str,
                 traceback: str = "") -> TaskFailedError:
    """The exception thrown into an orchestration for a failed task (used by the driver);
    `traceback` is the failed activity's recorded traceback."""
    cls: type[TaskFailedError]
    if source == "activity":
        cls = ActivityTimeoutError if kind == "Timeout" else ActivityFailedError
    elif source == "sub_orchestration":
        cls = SubOrchestrationFailedError
    else:
        cls = TaskFailedError
    return cls(text, category=category, kind=kind, traceback=traceback)


_BY_CODE: Dict[str, Type[DuroxideError]] = {}


def error_class(code: Optional[str]) -> Type[DuroxideError]:
    """The class whose `code` is `code`; DuroxideError for None or an unknown code (an error
    from a newer duroxide is still a DuroxideError)."""
    if not _BY_CODE:
        for name in __all__:
            cls = globals()[name]
            _BY_CODE[cls.code] = cls
    return _BY_CODE.get(code or "", DuroxideError)
