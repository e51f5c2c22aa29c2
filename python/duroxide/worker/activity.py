"""What an activity receives: its context, and `current_activity()` for @task functions.

Activities run on the worker's threads (worker/driver.py sets the context for each call).
"""

from __future__ import annotations

import contextvars
from typing import Any, Dict, Optional

from duroxide.client.native import Client
from duroxide.errors import RuntimeStateError
from duroxide.workflow.context import TracingMixin

_current_activity: "contextvars.ContextVar[Optional[ActivityContext]]" = contextvars.ContextVar(
    "duroxide_current_activity", default=None)


def current_activity() -> "ActivityContext":
    """The context of the activity running on this thread (for @task functions, which do not
    receive one).

    Raises:
        RuntimeError: not called from inside an activity.
    """
    ctx = _current_activity.get()
    if ctx is None:
        raise RuntimeError("duroxide.current_activity() called outside of an activity")
    return ctx


class ActivityContext(TracingMixin):
    """The `ctx` an activity receives."""

    def __init__(self, info: Dict[str, Any], handle: Any = None,
                 client_factory: Any = None) -> None:
        self.instance_id: str = info.get("instanceId", "")
        self.execution_id: int = info.get("executionId", 0)
        self.orchestration_name: str = info.get("orchestrationName", "")
        self.orchestration_version: str = info.get("orchestrationVersion", "")
        self.activity_name: str = info.get("activityName", "")
        self.activity_id: int = info.get("activityId", 0)
        self.worker_id: str = info.get("workerId", "")
        self.session_id: Optional[str] = info.get("sessionId")
        self._tag: Optional[str] = info.get("tag")
        self._trace_token: str = info.get("_traceToken", "")
        self._handle = handle
        self._client_factory = client_factory

    def tag(self) -> Optional[str]:
        """The routing tag the activity was scheduled with, or None."""
        return self._tag

    def is_cancelled(self) -> bool:
        """True once the orchestration no longer needs this result (cooperative)."""
        return bool(self._handle.is_cancelled()) if self._handle is not None else False

    def get_client(self) -> Client:
        """A Client on the same store, to start orchestrations or raise events."""
        if self._client_factory is None:
            raise RuntimeStateError("Activity context not found")
        client: Client = self._client_factory()
        return client

    def _tracer(self) -> Any:
        return self._handle
