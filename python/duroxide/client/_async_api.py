"""GENERATED from ClientAPI (client/api.py) by
`python -m duroxide.client._async_gen`; do not edit. The async clients' operations as the
type checker sees them (aio.py generates the same coroutines at run time, documented by
ClientAPI's docstrings)."""

# ruff: noqa: E501, I001
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, TYPE_CHECKING, Union
from duroxide import _core
from duroxide.client.limits import Limit, LimitInfo
from duroxide.client.operations import BulkResult, PendingWork
from duroxide.client.results import ActorInfo, DeadLetter, OrchestrationResult, TaskGraph, TopicDetail, TopicInfo, WaitingActivity
from duroxide.client.schedules import ScheduleInfo
from duroxide.client.workers import UnservableWork, WorkerInfo
from duroxide.workflow.graphs import TaskFunction, TaskHandle
from duroxide.workflow.messages import DEFAULT_REQUEST_TIMEOUT_MS
from duroxide.client.api import DEFAULT_TIMEOUT_MS

if TYPE_CHECKING:
    from duroxide.client.aio_actor import AsyncActorRef


class AsyncClientAPI:
    """Every ClientAPI operation as a coroutine (declaration only)."""

    @property
    def closed(self) -> bool:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def start_orchestration(self, instance_id: str, name: str, input: Any=None, *, if_exists: str='fail', priority: int=0, limit: Optional[str]=None, limit_key: Optional[str]=None) -> None:
        raise NotImplementedError

    async def start_orchestration_versioned(self, instance_id: str, name: str, input: Any, version: str, *, if_exists: str='fail', priority: int=0, limit: Optional[str]=None, limit_key: Optional[str]=None) -> None:
        raise NotImplementedError

    async def start_orchestration_typed(self, instance_id: str, name: str, input: Any=None) -> None:
        raise NotImplementedError

    async def start_orchestration_versioned_typed(self, instance_id: str, name: str, input: Any, version: str) -> None:
        raise NotImplementedError

    async def get_status(self, instance_id: str) -> OrchestrationResult:
        raise NotImplementedError

    async def wait_for_orchestration(self, instance_id: str, timeout_ms: int=DEFAULT_TIMEOUT_MS) -> OrchestrationResult:
        raise NotImplementedError

    async def wait_for_orchestration_typed(self, instance_id: str, timeout_ms: int=DEFAULT_TIMEOUT_MS) -> Any:
        raise NotImplementedError

    async def wait_for_status_change(self, instance_id: str, last_seen_version: int=0, poll_interval_ms: int=200, timeout_ms: int=DEFAULT_TIMEOUT_MS) -> Optional[OrchestrationResult]:
        raise NotImplementedError

    async def raise_event(self, instance_id: str, event_name: str, data: Any=None) -> None:
        raise NotImplementedError

    async def raise_event_typed(self, instance_id: str, event_name: str, data: Any=None) -> None:
        raise NotImplementedError

    async def enqueue_event(self, instance_id: str, queue_name: str, data: Any=None) -> None:
        raise NotImplementedError

    async def enqueue_event_typed(self, instance_id: str, queue_name: str, data: Any=None) -> None:
        raise NotImplementedError

    async def cancel_instance(self, instance_id: str, reason: Optional[str]=None) -> None:
        raise NotImplementedError

    async def suspend_instance(self, instance_id: str, reason: Optional[str]=None) -> None:
        raise NotImplementedError

    async def resume_instance(self, instance_id: str, reason: Optional[str]=None) -> None:
        raise NotImplementedError

    async def terminate_instance(self, instance_id: str, reason: Optional[str]=None, *, output: Any=None, recursive: bool=True) -> None:
        raise NotImplementedError

    async def rerun(self, instance_id: str, *, from_event_id: Optional[int]=None, new_instance_id: Optional[str]=None, input: Any=None) -> str:
        raise NotImplementedError

    async def get_pending(self, instance_id: str) -> PendingWork:
        raise NotImplementedError

    async def bulk(self, action: str, *, status: Optional[str]=None, name: Optional[str]=None, id_prefix: Optional[str]=None, created_after_ms: Optional[int]=None, created_before_ms: Optional[int]=None, reason: Optional[str]=None, dry_run: bool=False) -> BulkResult:
        raise NotImplementedError

    async def get_kv_value(self, instance_id: str, key: str) -> Optional[str]:
        raise NotImplementedError

    async def get_kv_value_typed(self, instance_id: str, key: str) -> Any:
        raise NotImplementedError

    async def wait_for_kv_value(self, instance_id: str, key: str, timeout_ms: int=DEFAULT_TIMEOUT_MS) -> str:
        raise NotImplementedError

    async def wait_for_kv_value_typed(self, instance_id: str, key: str, timeout_ms: int=DEFAULT_TIMEOUT_MS) -> Any:
        raise NotImplementedError

    async def get_kv_all(self, instance_id: str) -> Dict[str, str]:
        raise NotImplementedError

    async def list_all_instances(self) -> List[str]:
        raise NotImplementedError

    async def list_instances_by_status(self, status: str) -> List[str]:
        raise NotImplementedError

    async def get_instance_info(self, instance_id: str) -> _core.InstanceInfo:
        raise NotImplementedError

    async def get_execution_info(self, instance_id: str, execution_id: int) -> _core.ExecutionInfo:
        raise NotImplementedError

    async def list_executions(self, instance_id: str) -> List[int]:
        raise NotImplementedError

    async def read_execution_history(self, instance_id: str, execution_id: int) -> List[_core.Event]:
        raise NotImplementedError

    async def get_instance_tree(self, instance_id: str) -> _core.InstanceTree:
        raise NotImplementedError

    async def delete_instance(self, instance_id: str, force: bool=False) -> _core.DeleteInstanceResult:
        raise NotImplementedError

    async def delete_instance_bulk(self, filter: Optional[_core.InstanceFilter]=None) -> _core.DeleteInstanceResult:
        raise NotImplementedError

    async def prune_executions(self, instance_id: str, options: Optional[_core.PruneOptions]=None) -> _core.PruneResult:
        raise NotImplementedError

    async def prune_executions_bulk(self, filter: Optional[_core.InstanceFilter]=None, options: Optional[_core.PruneOptions]=None) -> _core.PruneResult:
        raise NotImplementedError

    async def get_system_metrics(self) -> _core.SystemMetrics:
        raise NotImplementedError

    async def get_queue_depths(self) -> _core.QueueDepths:
        raise NotImplementedError

    async def get_orchestration_stats(self, instance_id: str) -> Optional[_core.SystemStats]:
        raise NotImplementedError

    async def list_workers(self) -> List[WorkerInfo]:
        raise NotImplementedError

    async def get_worker(self, name_or_id: str) -> WorkerInfo:
        raise NotImplementedError

    async def drain_worker(self, name_or_id: str) -> WorkerInfo:
        raise NotImplementedError

    async def prune_workers(self, retention_ms: int) -> int:
        raise NotImplementedError

    async def list_unservable_work(self) -> List[UnservableWork]:
        raise NotImplementedError

    async def create_schedule(self, schedule_id: str, orchestration: str, input: Any=None, *, cron: Optional[str]=None, every_ms: Optional[int]=None, version: Optional[str]=None, timezone: str='UTC', overlap: str='skip', catchup_window_ms: int=60000, jitter_ms: int=0, start_at_ms: Optional[int]=None, end_at_ms: Optional[int]=None, paused: bool=False, note: Optional[str]=None) -> ScheduleInfo:
        raise NotImplementedError

    async def get_schedule(self, schedule_id: str) -> ScheduleInfo:
        raise NotImplementedError

    async def list_schedules(self) -> List[ScheduleInfo]:
        raise NotImplementedError

    async def update_schedule(self, schedule_id: str, **fields: Any) -> ScheduleInfo:
        raise NotImplementedError

    async def pause_schedule(self, schedule_id: str, note: Optional[str]=None) -> ScheduleInfo:
        raise NotImplementedError

    async def resume_schedule(self, schedule_id: str) -> ScheduleInfo:
        raise NotImplementedError

    async def trigger_schedule(self, schedule_id: str) -> str:
        raise NotImplementedError

    async def backfill_schedule(self, schedule_id: str, start_ms: int, end_ms: int) -> List[str]:
        raise NotImplementedError

    async def delete_schedule(self, schedule_id: str) -> None:
        raise NotImplementedError

    async def set_limit(self, name: str, limit: Limit) -> None:
        raise NotImplementedError

    async def get_limit(self, name: str) -> LimitInfo:
        raise NotImplementedError

    async def list_limits(self) -> List[LimitInfo]:
        raise NotImplementedError

    async def delete_limit(self, name: str) -> None:
        raise NotImplementedError

    async def send_message(self, instance_id: str, queue: str, data: Any=None) -> str:
        raise NotImplementedError

    async def publish_event(self, topic: str, data: Any=None) -> int:
        raise NotImplementedError

    async def request(self, instance_id: str, operation: str, data: Any=None, timeout_ms: int=DEFAULT_REQUEST_TIMEOUT_MS) -> Any:
        raise NotImplementedError

    async def list_dead_letters(self, instance_id: Optional[str]=None) -> List[DeadLetter]:
        raise NotImplementedError

    async def redeliver_dead_letter(self, id: int) -> None:
        raise NotImplementedError

    async def purge_dead_letters(self, instance_id: Optional[str]=None, before_ms: Optional[int]=None, ids: Optional[Sequence[int]]=None) -> int:
        raise NotImplementedError

    async def list_topics(self) -> List[TopicInfo]:
        raise NotImplementedError

    async def get_topic(self, topic: str) -> TopicDetail:
        raise NotImplementedError

    def actor(self, actor_type: str, key: str) -> 'AsyncActorRef':
        raise NotImplementedError

    async def debounce(self, key: str, orchestration: str, item: Any, *, window_ms: int, max_wait_ms: Optional[int]=None, max_items: Optional[int]=None, version: Optional[str]=None) -> str:
        raise NotImplementedError

    async def list_actors(self, actor_type: Optional[str]=None) -> List[ActorInfo]:
        raise NotImplementedError

    async def submit(self, handle: TaskHandle, instance_id: Optional[str]=None) -> str:
        raise NotImplementedError

    async def get_graph(self, instance_id: str) -> TaskGraph:
        raise NotImplementedError

    async def clear_task_cache(self, task: Union[str, TaskFunction, None]=None) -> int:
        raise NotImplementedError

    async def list_waiting_activities(self, min_wait_ms: int=0, limit: int=1000) -> List[WaitingActivity]:
        raise NotImplementedError
