"""What clients return: an instance's status, messaging records and the task-graph views.

Plain values, the same for every ClientAPI implementation (the native Client builds them from
the core's answers, HttpClient from the server's JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Literal, Optional, Tuple, TypedDict, cast

from duroxide._common import loads_or_raw

# The statuses a client sees (OrchestrationResult.status).
OrchestrationStatusName = Literal["NotFound", "Pending", "Running", "Suspended", "Completed",
                                  "Failed", "Terminated"]


class OrchestrationResult:
    """Status of an orchestration instance as seen by a client.

    Attributes:
        status: "NotFound", "Pending", "Running", "Suspended", "Completed", "Failed" or
            "Terminated" (docs/operations.md). "Pending": the start is queued with a named
            limit and waits for a slot (docs/flow-control.md); it becomes "Running" when the
            limit admits it.
        output: the orchestration's return value (parsed JSON) when Completed (Terminated: the
            output given to terminate_instance), else None.
        error: the error text when Failed or Terminated, the reason when Suspended, else None.
        custom_status: the last custom status string, or None.
        custom_status_version: increases each time a turn changes the custom status.
    """

    def __init__(self, status: OrchestrationStatusName, output: Any = None,
                 error: Optional[str] = None,
                 custom_status: Optional[str] = None, custom_status_version: int = 0):
        self.status: OrchestrationStatusName = status
        self.output = output
        self.error = error
        self.custom_status = custom_status
        self.custom_status_version = custom_status_version

    def __repr__(self) -> str:
        return (f"OrchestrationResult(status={self.status!r}, output={self.output!r}, "
                f"error={self.error!r}, custom_status={self.custom_status!r}, "
                f"custom_status_version={self.custom_status_version})")


def parse_status(raw: Any) -> OrchestrationResult:
    status = cast(OrchestrationStatusName, raw.status)
    return OrchestrationResult(status, loads_or_raw(raw.output), raw.error, raw.custom_status,
                               raw.custom_status_version)


# ---- messaging (docs/messaging.md) ----------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    """A message that could not be delivered, with the reason."""

    id: int
    instance_id: str
    queue: str
    data: Any
    reason: str
    created_at_ms: int
    sender: Optional[str]
    message_id: Optional[str]


@dataclass(frozen=True)
class TopicInfo:
    """A topic: subscriber count and backlog (entries the slowest subscriber has not got)."""

    topic: str
    subscribers: int
    backlog: int
    last_seq: int


@dataclass(frozen=True)
class TopicSubscriber:
    instance_id: str
    cursor: int
    lag: int
    subscribed_at_ms: int


@dataclass(frozen=True)
class TopicDetail:
    """client.get_topic(topic): the topic and its subscribers with their cursor lag."""

    topic: str
    subscribers: List[TopicSubscriber]
    backlog: int
    last_seq: int


@dataclass(frozen=True)
class ActorInfo:
    actor_type: str
    key: str
    instance_id: str
    status: str


# ---- task graphs and capability routing (docs/task-graphs.md) -------------------------------


class GraphNode(TypedDict):
    """One node of a task graph (client.get_graph). Times are epoch milliseconds."""

    id: int
    task: str
    input: str
    status: str  # pending, running, completed, cached, failed or skipped
    worker: Optional[str]
    workers: List[str]
    attempts: int
    start: Optional[int]
    end: Optional[int]
    cache_hit: bool
    error: Optional[str]
    traceback: Optional[str]  # a failed node's traceback, root cause first
    deps: List[int]


class TaskGraph(TypedDict):
    """client.get_graph(id): the nodes and the (from, to) dependency edges."""

    instance_id: str
    nodes: List[GraphNode]
    edges: List[Tuple[int, int]]


class WaitingActivity(TypedDict):
    """client.list_waiting_activities(): an activity no live worker's capabilities satisfy."""

    instance_id: str
    execution_id: int
    activity_id: int
    name: str
    schema: Any  # the JSON Schema the worker's capabilities must satisfy (parsed)
    schema_hash: str
    waiting_since_ms: int
    waiting_ms: int
    deadline_ms: int  # 0: no deadline
    # Why it waits: "capability" (no live worker satisfies `schema`), "limit" (its named limit
    # is full or out of tokens) or "undefined_limit" (no limit of that name exists).
    reason: str
    limit: Optional[str]
    limit_key: Optional[str]
