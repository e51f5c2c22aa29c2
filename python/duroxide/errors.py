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
from typing import Optional

__all__ = [
    "DuroxideError",
    "StoreError",
    "ProviderError",
    "NotFoundError",
    "InstanceAlreadyExistsError",
    "InvalidArgumentError",
    "InvalidTypeError",
    "OperationTimedOutError",
    "RuntimeStateError",
    "ClosedError",
    "TracingError",
    "TaskFailedError",
    "ActivityFailedError",
    "ActivityTimeoutError",
    "SubOrchestrationFailedError",
    "OrchestrationFailedError",
]


class DuroxideError(Exception):
    """Base class of every error duroxide raises."""


class StoreError(DuroxideError, RuntimeError):
    """A store, client or management operation failed (a RuntimeError for compatibility)."""


class ProviderError(StoreError):
    """The storage provider failed: cannot open/connect, or the store reported an error."""


class NotFoundError(StoreError):
    """The instance, execution or item does not exist."""


class InstanceAlreadyExistsError(StoreError):
    """An instance with this id already exists."""


class InvalidArgumentError(StoreError, ValueError):
    """An argument was rejected (also a ValueError)."""


class InvalidTypeError(DuroxideError, TypeError):
    """An argument of the wrong type was passed to a public API (also a TypeError). Values
    that json.dumps cannot encode keep json's own TypeError."""


class OperationTimedOutError(StoreError, TimeoutError):
    """A wait ran out of time (also a RuntimeError and a TimeoutError)."""


class RuntimeStateError(DuroxideError, RuntimeError):
    """The runtime cannot do this in its current state (e.g. start() after shutdown())."""


class ClosedError(DuroxideError, RuntimeError):
    """The provider, client or runtime was closed; create a new one."""


class TracingError(DuroxideError, RuntimeError):
    """init_tracing failed: the log file cannot be opened or a subscriber is installed."""


_PY_FAILURE = re.compile(r"^Activity '(?P<name>.*?)' call failed: (?P<type>[A-Za-z_][\w.]*): ?")


class TaskFailedError(DuroxideError):
    """A task an orchestration awaited failed; thrown into the orchestration generator.

    ``str(error)`` is the recorded error text (what the reference raised as a bare
    ``Exception``). Attributes:

    - ``category``: "Application", "Configuration", "Infrastructure" or "Poison";
    - ``type``: the Python exception type name when user code raised (e.g. "ValueError"),
      otherwise the core's error kind (e.g. "ActivityFailed", "OrchestrationFailed", "Timeout");
    - ``message``: the error message without the "Activity '<name>' call failed: <Type>: " prefix;
    - ``kind``: the core's error kind; ``source``: "activity" or "sub_orchestration".
    """

    source = ""

    def __init__(self, text: str, *, category: str = "Application", kind: str = "",
                 name: Optional[str] = None) -> None:
        super().__init__(text)
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

    source = "activity"


class ActivityTimeoutError(ActivityFailedError, TimeoutError):
    """An activity's per-attempt or total timeout fired (also a TimeoutError)."""


class SubOrchestrationFailedError(TaskFailedError):
    """A sub-orchestration ended Failed; the message is the child's error."""

    source = "sub_orchestration"


class OrchestrationFailedError(DuroxideError):
    """wait_for_orchestration_typed: the instance ended Failed; ``str()`` is its error."""


def task_failure(text: str, source: str, category: str, kind: str) -> TaskFailedError:
    """The exception thrown into an orchestration for a failed task (used by the driver)."""
    cls: type[TaskFailedError]
    if source == "activity":
        cls = ActivityTimeoutError if kind == "Timeout" else ActivityFailedError
    elif source == "sub_orchestration":
        cls = SubOrchestrationFailedError
    else:
        cls = TaskFailedError
    return cls(text, category=category, kind=kind)
