"""duroxide: durable workflows for Python on a C++ core.

Orchestrations are generator functions that yield tasks; activities are plain functions.
A C++ runtime records every step in a durable history and replays it after restarts.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

# Kept because api.md lists it: the table the hand-driven generator protocol
# (duroxide.driver.create_generator) looks functions up in. Runtimes neither fill nor read it:
# each runtime runs only its own registrations.
_orchestration_functions: Dict[str, Callable[..., Any]] = {}

try:
    from duroxide import _core
except ImportError as exc:  # pragma: no cover - a broken install
    raise ImportError(
        "duroxide's native module could not be loaded; reinstall with `pip install .` "
        f"from the source tree ({exc})"
    ) from exc

from duroxide._client import Client  # noqa: E402
from duroxide._core import (  # noqa: E402  # noqa: E402
    DeleteInstanceResult,
    Event,
    ExecutionInfo,
    InstanceFilter,
    InstanceInfo,
    InstanceTree,
    OrchestrationStatus,
    PruneOptions,
    PruneResult,
    QueueDepths,
    SystemMetrics,
    SystemStats,
    init_tracing,
)
from duroxide._providers import SqliteProvider  # noqa: E402

if hasattr(_core, "PostgresProvider"):  # builds without libpqxx have no PostgreSQL provider
    from duroxide._providers import PostgresProvider  # noqa: E402
from duroxide._registry import Registry  # noqa: E402
from duroxide._runtime import MetricsSnapshot, Runtime  # noqa: E402
from duroxide._types import (  # noqa: E402
    MAX_KV_KEYS,
    MAX_KV_VALUE_BYTES,
    MAX_TAG_NAME_BYTES,
    MAX_WORKER_TAGS,
    OrchestrationResult,
    RuntimeOptions,
    TagFilter,
    _parse_status,
    parse_result,
)
from duroxide.context import ActivityContext, OrchestrationContext, ScheduledTask  # noqa: E402
from duroxide.driver import create_generator, dispose_generator, next_step  # noqa: E402

# ---- python-native: the provider protocol, the status Literal, and one error hierarchy ----
from duroxide._providers import Provider  # noqa: E402
from duroxide._types import OrchestrationStatusName  # noqa: E402
from duroxide.errors import (  # noqa: E402
    ActivityFailedError,
    ActivityTimeoutError,
    ClosedError,
    DuroxideError,
    InstanceAlreadyExistsError,
    InvalidArgumentError,
    NotFoundError,
    OperationTimedOutError,
    OrchestrationFailedError,
    ProviderError,
    RuntimeStateError,
    StoreError,
    SubOrchestrationFailedError,
    TaskFailedError,
    TracingError,
)
# --- server: the REST API's remote client (the server itself is duroxide.server) ---
from duroxide._http_client import HttpClient  # noqa: E402
# ---- fleet: worker registry (docs/deployment.md) ----
from duroxide._fleet import UnservableWork, WorkerInfo  # noqa: E402
# ---- messaging (docs/messaging.md) ----
from duroxide._actors import ActorRef, ActorType  # noqa: E402
from duroxide._messaging import (  # noqa: E402
    Message,
    Request,
    RequestFailedError,
    RequestTimedOutError,
)
from duroxide._messaging_client import (  # noqa: E402
    ActorInfo,
    DeadLetter,
    TopicDetail,
    TopicInfo,
    TopicSubscriber,
)
# Task graphs and capability routing (docs/task-graphs.md).
from duroxide._capabilities import detect_capabilities  # noqa: E402
from duroxide._graphs import GraphNodeFailedError, TaskFunction, TaskHandle  # noqa: E402
from duroxide.context import JoinTask, current_activity  # noqa: E402

__version__ = "0.1.0"

PyOrchestrationStatus = OrchestrationStatus
PyMetricsSnapshot = MetricsSnapshot
PyRuntimeOptions = RuntimeOptions
PySystemMetrics = SystemMetrics
PySystemStats = SystemStats
PyQueueDepths = QueueDepths
PyInstanceInfo = InstanceInfo
PyExecutionInfo = ExecutionInfo
PyInstanceTree = InstanceTree
PyDeleteInstanceResult = DeleteInstanceResult
PyPruneOptions = PruneOptions
PyPruneResult = PruneResult
PyInstanceFilter = InstanceFilter
PyEvent = Event

__all__ = [
    "SqliteProvider",
    "Client",
    "Runtime",
    "Registry",
    "OrchestrationResult",
    "RuntimeOptions",
    "OrchestrationContext",
    "ActivityContext",
    "ScheduledTask",
    "TagFilter",
    "OrchestrationStatus",
    "SystemMetrics",
    "SystemStats",
    "QueueDepths",
    "InstanceInfo",
    "ExecutionInfo",
    "InstanceTree",
    "DeleteInstanceResult",
    "PruneOptions",
    "PruneResult",
    "InstanceFilter",
    "Event",
    "MetricsSnapshot",
    "init_tracing",
    "parse_result",
    "MAX_WORKER_TAGS",
    "MAX_TAG_NAME_BYTES",
    "MAX_KV_KEYS",
    "MAX_KV_VALUE_BYTES",
    "PyOrchestrationStatus",
    "PyMetricsSnapshot",
    "PyRuntimeOptions",
    "PySystemMetrics",
    "PySystemStats",
    "PyQueueDepths",
    "PyInstanceInfo",
    "PyExecutionInfo",
    "PyInstanceTree",
    "PyDeleteInstanceResult",
    "PyPruneOptions",
    "PyPruneResult",
    "PyInstanceFilter",
    "PyEvent",
    # python-native: typing and errors
    "Provider",
    "OrchestrationStatusName",
    "DuroxideError",
    "StoreError",
    "ProviderError",
    "NotFoundError",
    "InstanceAlreadyExistsError",
    "InvalidArgumentError",
    "OperationTimedOutError",
    "RuntimeStateError",
    "ClosedError",
    "TracingError",
    "TaskFailedError",
    "ActivityFailedError",
    "ActivityTimeoutError",
    "SubOrchestrationFailedError",
    "OrchestrationFailedError",
    # --- server ---
    "HttpClient",
    # fleet: worker registry
    "WorkerInfo",
    "UnservableWork",
    # messaging (docs/messaging.md)
    "Message",
    "Request",
    "RequestFailedError",
    "RequestTimedOutError",
    "ActorType",
    "ActorRef",
    "ActorInfo",
    "DeadLetter",
    "TopicInfo",
    "TopicDetail",
    "TopicSubscriber",
    # Task graphs and capability routing.
    "TaskFunction",
    "TaskHandle",
    "GraphNodeFailedError",
    "JoinTask",
    "current_activity",
    "detect_capabilities",
]
if hasattr(_core, "PostgresProvider"):
    __all__.insert(1, "PostgresProvider")

# reliability (issue 17): documented limits and SQLite durability levels.
from duroxide._providers import SQLITE_DURABILITY_LEVELS  # noqa: E402
from duroxide._types import (  # noqa: E402
    MAX_HISTORY_EVENTS,
    MAX_INSTANCE_ID_BYTES,
    MAX_NAME_BYTES,
    MAX_PAYLOAD_BYTES,
)

__all__ += [
    "MAX_PAYLOAD_BYTES",
    "MAX_HISTORY_EVENTS",
    "MAX_INSTANCE_ID_BYTES",
    "MAX_NAME_BYTES",
    "SQLITE_DURABILITY_LEVELS",
]

# ---- clean15 (issue 15): wrong-type arguments raise a DuroxideError that is a TypeError ----
from duroxide.errors import InvalidTypeError  # noqa: E402

__all__ += ["InvalidTypeError"]

# ---- testing (duroxide.testing, docs/testing.md) ----
# `duroxide.testing` is imported on first use, so `import duroxide` stays light and
# `duroxide.testing.replay(...)` works without a separate import.


def __getattr__(name: str) -> object:
    if name == "testing":
        import importlib

        return importlib.import_module("duroxide.testing")
    raise AttributeError(f"module 'duroxide' has no attribute {name!r}")
