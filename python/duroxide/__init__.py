"""duroxide: durable workflows for Python on a C++ core.

Orchestrations are generator functions that yield tasks; activities are plain functions.
A C++ runtime records every step in a durable history and replays it after restarts.

This module is the public API: it re-exports the names programs use from the subpackages
(docs/architecture.md, "The Python package"):

* duroxide.workflow  what orchestration code touches: the context, task descriptors,
                     messaging and actors, task graphs, the generator protocol
* duroxide.client    the native Client and the REST HttpClient (and their asyncio twins)
* duroxide.worker    Runtime, Registry, RuntimeOptions, the activity context, the driver the
                     core calls, capabilities, logging
* duroxide.cli, duroxide.server, duroxide.testing   the tools built on this API
"""

from __future__ import annotations

import importlib

try:
    from duroxide import _core
except ImportError as exc:  # pragma: no cover - a broken install
    raise ImportError(
        "duroxide's native module could not be loaded; reinstall with `pip install .` "
        f"from the source tree ({exc})"
    ) from exc

from duroxide._common import (
    MAX_HISTORY_EVENTS,
    MAX_INSTANCE_ID_BYTES,
    MAX_KV_KEYS,
    MAX_KV_VALUE_BYTES,
    MAX_NAME_BYTES,
    MAX_PAYLOAD_BYTES,
    MAX_TAG_NAME_BYTES,
    MAX_WORKER_TAGS,
)
from duroxide._common import __version__ as __version__
from duroxide._core import (
    DeleteInstanceResult,
    Event,
    ExecutionInfo,
    InstanceInfo,
    InstanceTree,
    OrchestrationStatus,
    PruneResult,
    QueueDepths,
    SystemMetrics,
    SystemStats,
    init_tracing,
)
from duroxide._providers import SQLITE_DURABILITY_LEVELS, Provider, SqliteProvider
from duroxide.client.api import ClientAPI
from duroxide.client.aio import AsyncActorRef, AsyncClient, AsyncHttpClient
from duroxide.client.http import HttpClient
from duroxide.client.native import Client
from duroxide.client.options import InstanceFilter, PruneOptions
from duroxide.client.results import (
    ActorInfo,
    DeadLetter,
    GraphNode,
    OrchestrationResult,
    OrchestrationStatusName,
    TaskGraph,
    TopicDetail,
    TopicInfo,
    TopicSubscriber,
    WaitingActivity,
)
from duroxide.client.limits import Limit, LimitInfo
from duroxide.client.schedules import ScheduleInfo
from duroxide.client.workers import UnservableWork, WorkerInfo
from duroxide.errors import *  # noqa: F403  (every exception class, errors.__all__)
from duroxide.migration import MigrationReport, export_store, import_store, migrate
from duroxide.worker.activity import ActivityContext, current_activity
from duroxide.worker.capabilities import detect_capabilities
from duroxide.worker.options import RuntimeOptions, TagFilter
from duroxide.worker.registry import Registry
from duroxide.worker.runtime import MetricsSnapshot, Runtime
from duroxide.workflow.actors import ActorRef, ActorType
from duroxide.workflow.context import JoinTask, OrchestrationContext, ScheduledTask, parse_result
from duroxide.workflow.generator_protocol import create_generator, dispose_generator, next_step
from duroxide.workflow.generator_protocol import (
    orchestration_functions as _orchestration_functions,
)
from duroxide.workflow.graphs import TaskFunction, TaskHandle
from duroxide.workflow.messages import Message, Request

# The historical public modules, attributes of the package as before (`duroxide.driver.x`).
from duroxide import context, driver, errors  # noqa: E402

if hasattr(_core, "PostgresProvider"):  # builds without libpqxx have no PostgreSQL provider
    from duroxide._providers import PostgresProvider

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
    "ClientAPI",
    "Runtime",
    "Registry",
    "OrchestrationResult",
    "RuntimeOptions",
    "OrchestrationContext",
    "ActivityContext",
    "ScheduledTask",
    "Limit",
    "LimitInfo",
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
    # every exception class of duroxide.errors
    *errors.__all__,
    # --- server ---
    "HttpClient",
    "AsyncClient",
    "AsyncHttpClient",
    "AsyncActorRef",
    # durable schedules (docs/schedules.md)
    "ScheduleInfo",
    # fleet: worker registry
    "WorkerInfo",
    "UnservableWork",
    # messaging (docs/messaging.md)
    "Message",
    "Request",
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
    "TaskGraph",
    "GraphNode",
    "WaitingActivity",
    "JoinTask",
    "current_activity",
    "detect_capabilities",
]
if hasattr(_core, "PostgresProvider"):
    __all__.insert(1, "PostgresProvider")
__all__ += [
    # reliability (issue 17): documented limits and SQLite durability levels.
    "MAX_PAYLOAD_BYTES",
    "MAX_HISTORY_EVENTS",
    "MAX_INSTANCE_ID_BYTES",
    "MAX_NAME_BYTES",
    "SQLITE_DURABILITY_LEVELS",
    # moving a store (issue 29, docs/dump-format.md)
    "export_store",
    "import_store",
    "migrate",
    "MigrationReport",
]


def __getattr__(name: str) -> object:
    """`duroxide.testing` is imported on first use (a documented lazy load), so `import
    duroxide` stays light and `duroxide.testing.replay(...)` works without its own import."""
    if name == "testing":
        return importlib.import_module("duroxide.testing")
    raise AttributeError(f"module 'duroxide' has no attribute {name!r}")
