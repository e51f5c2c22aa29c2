"""Request and response bodies of the REST API (they are the OpenAPI schema).

Times are epoch milliseconds. Fields named `output` or `data` in the instance, execution and
event models hold the raw stored JSON text, exactly as the Python API returns it; `output` in
`OrchestrationStatus` and `InstanceDetail` is the parsed value.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Dict, List, Literal, Optional, Type

from pydantic import BaseModel, ConfigDict, Field, create_model

from duroxide.client.validate import INT64_MAX

ID_MAX = 512
NAME_MAX = 256


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def record_model(record: type, name: str, descriptions: Dict[str, str]) -> Type[BaseModel]:
    """The response model of a client record (a dataclass such as ScheduleInfo): its fields,
    types and defaults, so the REST schema and the record are one definition (a field added to
    the record is in the schema). `descriptions` documents some fields; the record's
    docstring is the model's."""
    hints = typing.get_type_hints(record)
    fields: Dict[str, Any] = {}
    for field in dataclasses.fields(record):
        described = descriptions.get(field.name)
        if field.default_factory is not dataclasses.MISSING:
            spec = Field(default_factory=field.default_factory, description=described)
        elif field.default is not dataclasses.MISSING:
            spec = Field(default=field.default, description=described)
        else:
            spec = Field(description=described)
        fields[field.name] = (hints[field.name], spec)
    return create_model(name, __doc__=record.__doc__, **fields)


# ---- requests -------------------------------------------------------------------------------


class StartRequest(_Model):
    """Starts an orchestration (POST /v1/instances)."""

    name: str = Field(min_length=1, max_length=NAME_MAX, description="orchestration name")
    instance_id: Optional[str] = Field(
        default=None, min_length=1, max_length=ID_MAX,
        description="the new instance's id (default: `<name>-<random>`)")
    input: Any = Field(default=None, description="any JSON value (default null)")
    version: Optional[str] = Field(default=None, min_length=1, max_length=NAME_MAX,
                                   description="pin a version (default: the latest)")
    if_exists: str = Field(
        default="fail",
        description='when the id is taken: "fail" (409), "use_existing" (leave it as it is) '
                    'or "restart_if_ended" (a new execution for an ended instance)')
    priority: int = Field(default=0, description="0-9, higher first (docs/flow-control.md)")
    limit: Optional[str] = Field(
        default=None, description="a named limit capping how many instances naming it run at "
                                  "once; the instance is Pending until it takes a slot")
    limit_key: Optional[str] = Field(
        default=None, description="the key the instance is counted under when the limit is "
                                  "per key (needs limit)")


class RaiseEventRequest(_Model):
    """An external event, received by `wait_for_event(name)`."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    data: Any = None


class EnqueueRequest(_Model):
    """A message for an event queue, received by `dequeue_event(queue)`."""

    data: Any = None


class CancelRequest(_Model):
    reason: Optional[str] = Field(default=None, max_length=4096)


class PruneRequest(_Model):
    """Which old executions to delete (the current one never is)."""

    keep_last: Optional[int] = Field(default=None, ge=0, le=INT64_MAX)
    completed_before: Optional[int] = Field(default=None, ge=0, le=INT64_MAX)


class FilterRequest(_Model):
    """Selects instances for bulk operations (all given criteria must match)."""

    instance_ids: Optional[List[str]] = Field(default=None, max_length=10_000)
    completed_before: Optional[int] = Field(default=None, ge=0, le=INT64_MAX)
    limit: Optional[int] = Field(default=None, ge=1, le=100_000)


class BulkPruneRequest(_Model):
    filter: FilterRequest = Field(default_factory=FilterRequest)
    options: PruneRequest = Field(default_factory=PruneRequest)


# ---- responses ------------------------------------------------------------------------------


class InstanceInfo(BaseModel):
    """An instance and its current execution (Client.get_instance_info)."""

    instance_id: str
    orchestration_name: str
    orchestration_version: str
    current_execution_id: int
    status: str = Field(description="Running, Completed, Failed or ContinuedAsNew")
    output: Optional[str] = Field(
        description="raw stored text: the JSON output (Completed) or the error (Failed)")
    created_at: int
    updated_at: int
    parent_instance_id: Optional[str]
    shown_status: Optional[str] = Field(
        default=None, description="with ?shown_status=true: the status as the CLI shows it "
        "(Suspended, Terminated and Canceled told apart)")
    error: Optional[str] = Field(
        default=None, description="with ?shown_status=true: get_status's error (a failure, "
        "a suspension's reason)")


class InstanceList(BaseModel):
    """One page of instances, newest first."""

    items: List[InstanceInfo]
    next_cursor: Optional[str] = Field(
        description="pass as `cursor` for the next page; null when there is none")


class StartResponse(BaseModel):
    instance_id: str
    name: str
    version: Optional[str]


class OrchestrationStatus(BaseModel):
    """The status as a client sees it (Client.get_status)."""

    instance_id: str
    status: Literal["NotFound", "Pending", "Running", "Suspended", "Completed", "Failed",
                    "Terminated"]
    output: Any = Field(default=None, description="the parsed output when Completed")
    error: Optional[str] = None
    custom_status: Optional[str] = None
    custom_status_version: int = 0


class CustomStatus(BaseModel):
    instance_id: str
    custom_status: Optional[str]
    custom_status_version: int


class InstanceDetail(BaseModel):
    """Everything about one instance. `status` is Pending while its start is queued."""

    instance_id: str
    status: str
    orchestration_name: Optional[str] = None
    orchestration_version: Optional[str] = None
    current_execution_id: Optional[int] = None
    parent_instance_id: Optional[str] = None
    created_at: Optional[int] = None
    updated_at: Optional[int] = None
    output: Any = Field(default=None, description="the parsed output when Completed")
    stored_output: Optional[str] = Field(
        default=None, description="InstanceInfo.output: the raw stored output or error text")
    error: Optional[str] = None
    custom_status: Optional[str] = None
    custom_status_version: int = 0
    executions: List[int] = Field(default_factory=list)


class ExecutionInfo(BaseModel):
    execution_id: int
    status: str
    output: Optional[str]
    started_at: int
    completed_at: Optional[int]
    event_count: int


class Event(BaseModel):
    """One history event; `data` is the raw JSON text (see docs/operations.md, Events)."""

    event_id: int
    kind: str
    source_event_id: Optional[int]
    timestamp_ms: int
    data: Optional[str]
    raw: Optional[str] = Field(default=None, description="the whole event as stored (JSON "
                                                         "text), with `?raw=true` only")
    traceback: Optional[str] = Field(
        default=None, description="ActivityFailed only: the activity's traceback, root cause "
                                  "first and duroxide's own frames last (also in `data`)")


class InstanceTree(BaseModel):
    root_id: str
    size: int
    all_ids: List[str] = Field(description="breadth-first, root first")
    nodes: List[InstanceInfo] = Field(description="one per id that still exists")


class KvValues(BaseModel):
    instance_id: str
    values: Dict[str, str] = Field(description="key to raw stored value")


class KvValue(BaseModel):
    instance_id: str
    key: str
    value: str = Field(description="the raw stored value")


class Accepted(BaseModel):
    """A message was accepted for delivery."""

    instance_id: str
    accepted: bool = True
    warning: Optional[str] = Field(
        default=None, description="raise only: the instance does not wait for this event "
                                  "now (it is kept; only a wait_for_event of its name "
                                  "consumes it)")


class CancelResponse(BaseModel):
    instance_id: str
    cancel_requested: bool = Field(description="false when the instance had already ended")
    status: str


class DeleteResult(BaseModel):
    instances_deleted: int
    executions_deleted: int
    events_deleted: int
    queue_messages_deleted: int


class PruneResult(BaseModel):
    instances_processed: int
    executions_deleted: int
    events_deleted: int


class InstanceStats(BaseModel):
    history_event_count: int
    history_size_bytes: int
    queue_pending_count: int
    kv_user_key_count: int
    kv_total_value_bytes: int


class SystemMetrics(BaseModel):
    total_instances: int
    total_executions: int
    running_instances: int
    completed_instances: int
    failed_instances: int
    total_events: int


class QueueDepths(BaseModel):
    orchestrator_queue: int
    worker_queue: int
    timer_queue: int


class ServerStats(BaseModel):
    active_waits: int = Field(description="long-polls being served now")
    uptime_ms: int


class Metrics(BaseModel):
    timestamp_ms: int
    system: SystemMetrics
    queues: QueueDepths
    server: ServerStats


class MetricsSample(BaseModel):
    timestamp_ms: int
    system: SystemMetrics
    queues: QueueDepths


class MetricsHistory(BaseModel):
    interval_ms: int
    samples: List[MetricsSample] = Field(description="oldest first")


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    status: str
    store_latency_ms: float
