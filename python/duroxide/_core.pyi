"""duroxide native core (C++ replay engine, providers, runtime).

Stubs checked against the built module by `python -m mypy.stubtest duroxide._core`
(scripts/test.sh). The error classes are the ones of duroxide.errors.
"""
from __future__ import annotations

import collections.abc
import typing

from duroxide.errors import ActivityFailedError as ActivityFailedError
from duroxide.errors import ActivityTimeoutError as ActivityTimeoutError
from duroxide.errors import ClosedError as ClosedError
from duroxide.errors import DuroxideError as DuroxideError
from duroxide.errors import InstanceAlreadyExistsError as InstanceAlreadyExistsError
from duroxide.errors import InvalidArgumentError as InvalidArgumentError
from duroxide.errors import NotFoundError as NotFoundError
from duroxide.errors import OperationTimedOutError as OperationTimedOutError
from duroxide.errors import OrchestrationFailedError as OrchestrationFailedError
from duroxide.errors import ProviderError as ProviderError
from duroxide.errors import RuntimeStateError as RuntimeStateError
from duroxide.errors import StoreError as StoreError
from duroxide.errors import SubOrchestrationFailedError as SubOrchestrationFailedError
from duroxide.errors import TaskFailedError as TaskFailedError
from duroxide.errors import TracingError as TracingError

class SqliteProvider:
    @staticmethod
    def in_memory() -> SqliteProvider:
        """
        A fresh private in-memory database.
        """
    @staticmethod
    def open(path: str, durability: str = 'normal') -> SqliteProvider:
        """
        Opens (creating if needed) a SQLite database file.
        """
    @property
    def kind(self) -> str:
        ...
class PostgresProvider(SqliteProvider):
    @staticmethod
    def connect(url: str) -> PostgresProvider:
        """
        Connects to a PostgreSQL database and uses the schema 'public'.
        """
    @staticmethod
    def connect_with_schema(url: str, schema: str) -> PostgresProvider:
        """
        Connects and uses `schema`, creating it (and the tables) if missing.
        """
    @property
    def schema(self) -> str:
        ...
class OrchestrationStatus:
    custom_status: str | None
    error: str | None
    output: str | None
    status: str
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def custom_status_version(self) -> int:
        ...
    @custom_status_version.setter
    def custom_status_version(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class Client:
    def __init__(self, arg0: SqliteProvider) -> None:
        ...
    def cancel_instance(self, arg0: str, arg1: str) -> None:
        ...
    def enqueue_event(self, arg0: str, arg1: str, arg2: str) -> None:
        ...
    def get_kv_value(self, arg0: str, arg1: str) -> str | None:
        ...
    def get_status(self, arg0: str) -> OrchestrationStatus:
        ...
    def raise_event(self, arg0: str, arg1: str, arg2: str) -> None:
        ...
    def start_orchestration(self, instance_id: str, name: str, input: str, version: str | None = None) -> None:
        ...
    def wait_for_kv_value(self, arg0: str, arg1: str, arg2: typing.SupportsInt | typing.SupportsIndex) -> str:
        ...
    def wait_for_orchestration(self, arg0: str, arg1: typing.SupportsInt | typing.SupportsIndex) -> OrchestrationStatus:
        ...
    def wait_for_status_change(self, arg0: str, arg1: typing.SupportsInt | typing.SupportsIndex, arg2: typing.SupportsInt | typing.SupportsIndex, arg3: typing.SupportsInt | typing.SupportsIndex) -> OrchestrationStatus | None:
        ...
    @property
    def max_payload_bytes(self) -> int:
        ...
    @max_payload_bytes.setter
    def max_payload_bytes(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class SystemMetrics:
    """
    Counts over the whole store.
    """
    def __init__(self, total_instances: typing.SupportsInt | typing.SupportsIndex = 0, total_executions: typing.SupportsInt | typing.SupportsIndex = 0, running_instances: typing.SupportsInt | typing.SupportsIndex = 0, completed_instances: typing.SupportsInt | typing.SupportsIndex = 0, failed_instances: typing.SupportsInt | typing.SupportsIndex = 0, total_events: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def completed_instances(self) -> int:
        ...
    @property
    def failed_instances(self) -> int:
        ...
    @property
    def running_instances(self) -> int:
        ...
    @property
    def total_events(self) -> int:
        ...
    @property
    def total_executions(self) -> int:
        ...
    @property
    def total_instances(self) -> int:
        ...
class SystemStats:
    """
    Storage figures of one instance.
    """
    def __init__(self, history_event_count: typing.SupportsInt | typing.SupportsIndex = 0, history_size_bytes: typing.SupportsInt | typing.SupportsIndex = 0, queue_pending_count: typing.SupportsInt | typing.SupportsIndex = 0, kv_user_key_count: typing.SupportsInt | typing.SupportsIndex = 0, kv_total_value_bytes: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def history_event_count(self) -> int:
        ...
    @property
    def history_size_bytes(self) -> int:
        ...
    @property
    def kv_total_value_bytes(self) -> int:
        ...
    @property
    def kv_user_key_count(self) -> int:
        ...
    @property
    def queue_pending_count(self) -> int:
        ...
class QueueDepths:
    """
    Pending messages per queue.
    """
    def __init__(self, orchestrator_queue: typing.SupportsInt | typing.SupportsIndex = 0, worker_queue: typing.SupportsInt | typing.SupportsIndex = 0, timer_queue: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def orchestrator_queue(self) -> int:
        ...
    @property
    def timer_queue(self) -> int:
        ...
    @property
    def worker_queue(self) -> int:
        ...
class InstanceInfo:
    """
    An instance and its current execution.
    """
    instance_id: str
    orchestration_name: str
    orchestration_version: str
    output: str | None
    parent_instance_id: str | None
    status: str
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def created_at(self) -> int:
        ...
    @created_at.setter
    def created_at(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def current_execution_id(self) -> int:
        ...
    @current_execution_id.setter
    def current_execution_id(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def updated_at(self) -> int:
        ...
    @updated_at.setter
    def updated_at(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class ExecutionInfo:
    """
    One execution of an instance.
    """
    output: str | None
    status: str
    def __init__(self) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def completed_at(self) -> int | None:
        ...
    @completed_at.setter
    def completed_at(self, arg0: typing.SupportsInt | typing.SupportsIndex | None) -> None:
        ...
    @property
    def event_count(self) -> int:
        ...
    @event_count.setter
    def event_count(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def execution_id(self) -> int:
        ...
    @execution_id.setter
    def execution_id(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def started_at(self) -> int:
        ...
    @started_at.setter
    def started_at(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class InstanceTree:
    """
    A root instance and all its descendants.
    """
    def __init__(self, root_id: str, all_ids: collections.abc.Sequence[str]) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def all_ids(self) -> list[str]:
        ...
    @property
    def root_id(self) -> str:
        ...
    @property
    def size(self) -> int:
        ...
class DeleteInstanceResult:
    """
    What a delete removed.
    """
    def __init__(self, instances_deleted: typing.SupportsInt | typing.SupportsIndex = 0, executions_deleted: typing.SupportsInt | typing.SupportsIndex = 0, events_deleted: typing.SupportsInt | typing.SupportsIndex = 0, queue_messages_deleted: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def events_deleted(self) -> int:
        ...
    @property
    def executions_deleted(self) -> int:
        ...
    @property
    def instances_deleted(self) -> int:
        ...
    @property
    def queue_messages_deleted(self) -> int:
        ...
class PruneOptions:
    """
    Which old executions prune_executions deletes.
    """
    def __init__(self, keep_last: typing.SupportsInt | typing.SupportsIndex | None = None, completed_before: typing.SupportsInt | typing.SupportsIndex | None = None) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def completed_before(self) -> int | None:
        ...
    @property
    def keep_last(self) -> int | None:
        ...
class PruneResult:
    """
    What a prune removed.
    """
    def __init__(self, instances_processed: typing.SupportsInt | typing.SupportsIndex = 0, executions_deleted: typing.SupportsInt | typing.SupportsIndex = 0, events_deleted: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def events_deleted(self) -> int:
        ...
    @property
    def executions_deleted(self) -> int:
        ...
    @property
    def instances_processed(self) -> int:
        ...
class InstanceFilter:
    """
    Selects instances for bulk operations.
    """
    def __init__(self, instance_ids: collections.abc.Sequence[str] | None = None, completed_before: typing.SupportsInt | typing.SupportsIndex | None = None, limit: typing.SupportsInt | typing.SupportsIndex | None = None) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def completed_before(self) -> int | None:
        ...
    @property
    def instance_ids(self) -> list[str] | None:
        ...
    @property
    def limit(self) -> int | None:
        ...
class Event:
    """
    One history event (data is raw JSON text or None).
    """
    def __init__(self, event_id: typing.SupportsInt | typing.SupportsIndex, kind: str, source_event_id: typing.SupportsInt | typing.SupportsIndex | None = None, timestamp_ms: typing.SupportsInt | typing.SupportsIndex = 0, data: str | None = None) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def data(self) -> str | None:
        ...
    @property
    def event_id(self) -> int:
        ...
    @property
    def kind(self) -> str:
        ...
    @property
    def raw(self) -> str:
        ...
    @property
    def source_event_id(self) -> int | None:
        ...
    @property
    def timestamp_ms(self) -> int:
        ...
class Management:
    def __init__(self, provider: SqliteProvider) -> None:
        ...
    def delete_instance(self, instance_id: str, force: bool) -> DeleteInstanceResult:
        ...
    def delete_instance_bulk(self, filter: InstanceFilter) -> DeleteInstanceResult:
        ...
    def get_execution_info(self, instance_id: str, execution_id: typing.SupportsInt | typing.SupportsIndex) -> ExecutionInfo:
        ...
    def get_instance_info(self, instance_id: str) -> InstanceInfo:
        ...
    def get_instance_tree(self, instance_id: str) -> InstanceTree:
        ...
    def get_kv_all(self, instance_id: str) -> dict[str, str]:
        """
        The live KV map of an instance as {key: raw value}.
        """
    def get_orchestration_stats(self, instance_id: str) -> SystemStats | None:
        ...
    def get_queue_depths(self) -> QueueDepths:
        ...
    def get_system_metrics(self) -> SystemMetrics:
        ...
    def list_all_instances(self) -> list[str]:
        ...
    def list_executions(self, instance_id: str) -> list[int]:
        ...
    def list_instances_by_status(self, status: str) -> list[str]:
        ...
    def prune_executions(self, instance_id: str, options: PruneOptions) -> PruneResult:
        ...
    def prune_executions_bulk(self, filter: InstanceFilter, options: PruneOptions) -> PruneResult:
        ...
    def read_execution_history(self, instance_id: str, execution_id: typing.SupportsInt | typing.SupportsIndex) -> list[Event]:
        ...
class _OrchestrationHost:
    def clear_all_kv(self) -> None:
        ...
    def clear_kv(self, arg0: str) -> None:
        ...
    def get_custom_status(self) -> str | None:
        ...
    def get_kv(self, arg0: str) -> str | None:
        ...
    def get_kv_all(self) -> dict[str, str]:
        ...
    def is_replaying(self) -> bool:
        ...
    def prune_kv(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def reset_custom_status(self) -> None:
        ...
    def set_custom_status(self, arg0: str) -> None:
        ...
    def set_kv(self, arg0: str, arg1: str) -> None:
        ...
    def trace(self, arg0: str, arg1: str) -> None:
        ...
class _ActivityHandle:
    def is_cancelled(self) -> bool:
        ...
    def trace(self, arg0: str, arg1: str) -> None:
        ...
class Runtime:
    def __init__(self, provider: SqliteProvider, options: dict[str, typing.Any],
                 registry: typing.Any, client_factory: typing.Any) -> None:
        ...
    def advance_clock(self, ms: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def metrics_snapshot(self) -> dict[str, int]:
        ...
    def register_activity(self, arg0: str, arg1: typing.Any) -> None:
        ...
    def register_orchestration(self, arg0: str, arg1: str) -> None:
        ...
    def set_auto_skip(self, enabled: bool) -> None:
        ...
    def shutdown(self, timeout_ms: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def skip_time_if_idle(self) -> int:
        ...
    def start(self) -> None:
        ...
    @property
    def runtime_id(self) -> str:
        ...
def _normalize_retry_policy(policy: dict[str, typing.Any]) -> dict[str, typing.Any]:
    ...
def _configure_python_levels(runtime_level: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def _logging_mode() -> str:
    ...
def _set_python_logging(arg0: bool) -> None:
    ...
def _stop_log_pump() -> None:
    ...
def _take_log_records(
    timeout_ms: typing.SupportsInt | typing.SupportsIndex,
) -> list[tuple[str, int, str, dict[str, str]]]:
    ...
def advance_clock_ms(ms: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Test-only: moves the virtual clock forward (no dispatcher wake-up).
    """
def clock_offset_ms() -> int:
    """
    The virtual clock's offset from the wall clock (0 unless a test moved it).
    """
def configure_logging(arg0: str, arg1: str) -> None:
    ...
def init_tracing(log_file: str, log_level: str | None = None, log_format: str | None = None) -> None:
    ...
def now_ms() -> int:
    """
    Milliseconds since the epoch on the virtual clock.
    """
def replay_history(instance: str, execution_id: typing.SupportsInt | typing.SupportsIndex, events: collections.abc.Sequence[str], functions: typing.Any, kv_baseline: collections.abc.Mapping[str, str]) -> dict[str, typing.Any]:
    """
    Replays one execution's recorded events against `functions` (no store, no activities, no writes).
    """
def reset_clock_offset() -> None:
    """
    Test-only: puts the virtual clock back on the wall clock.
    """
