"""ClientAPI: the one definition of what a duroxide client can do.

Every client operation is declared here once, with its full signature, its return type and
its docstring. The implementations (docs/architecture.md, "One call, two ways"):

* `Client` (native.py): in process, through the C++ core on a provider;
* `HttpClient` (http.py): over the REST API of `duroxide server`;

both derive from `ClientBase` (base.py), which writes the operations that are built on others
(the `*_typed` helpers, `actor`, `submit`, `get_worker`) once. mypy --strict checks every
implementation against this class (they inherit from it, and every member is abstract, so a
missing one is also an error at instantiation), the CLI and the REST routers are written
against it, and tests/test_client_parity.py derives its list of operations from
`operations()` and runs one behavioural suite on every implementation.

Conventions: ids and names are `str`; JSON payloads are any JSON-serializable value (a value
that is not raises TypeError at the call site and nothing is written); times are epoch
milliseconds; durations are milliseconds (`timeout_ms`). Errors are the classes of
`duroxide.errors`, the same for every implementation.
"""

from __future__ import annotations

import inspect
from abc import abstractmethod
from typing import Any, Dict, List, Optional, Protocol, Sequence, Tuple, Union

from duroxide import _core
from duroxide.client.limits import Limit, LimitInfo
from duroxide.client.operations import BulkResult, PendingWork
from duroxide.client.results import (
    ActorInfo,
    DeadLetter,
    OrchestrationResult,
    TaskGraph,
    TopicDetail,
    TopicInfo,
    WaitingActivity,
)
from duroxide.client.schedules import ScheduleInfo
from duroxide.client.workers import UnservableWork, WorkerInfo
from duroxide.workflow.actors import ActorRef
from duroxide.workflow.graphs import TaskFunction, TaskHandle
from duroxide.workflow.messages import DEFAULT_REQUEST_TIMEOUT_MS

__all__ = ["ClientAPI", "operations", "DEFAULT_TIMEOUT_MS"]

DEFAULT_TIMEOUT_MS = 30000  # the default `timeout_ms` of every wait


class ClientAPI(Protocol):
    """Every operation of a duroxide client (the native `Client` and the REST `HttpClient`).

    A Protocol, so any object with these methods is a ClientAPI for the type checker; the
    implementations in this package also inherit from it (through ClientBase).
    """

    # ---- resources ------------------------------------------------------------------------

    @property
    @abstractmethod
    def closed(self) -> bool:
        """True once close() was called (for Client also once its provider was closed)."""

    @abstractmethod
    def close(self) -> None:
        """Releases what the client holds (its hold on the store, or its connections); later
        calls raise ClosedError. Idempotent. A client is also a context manager that closes
        it on exit."""

    # ---- start, status, events ------------------------------------------------------------

    @abstractmethod
    def start_orchestration(self, instance_id: str, name: str, input: Any = None, *,
                            if_exists: str = "fail", priority: int = 0,
                            limit: Optional[str] = None,
                            limit_key: Optional[str] = None) -> None:
        """Starts orchestration `name` (its latest registered version) as `instance_id`.

        The start is queued; a runtime serving `name` runs it. `if_exists` says what happens
        when the id is taken (docs/flow-control.md): "fail" raises
        InstanceAlreadyExistsError; "use_existing" returns and leaves the existing instance
        as it is, whatever its state; "restart_if_ended" gives a Completed or Failed
        instance a new execution with this name and input (a running one is left alone).
        `priority` (0-9, higher first, FIFO within a priority, aged so that low priorities
        are not starved: docs/flow-control.md) orders the start among the waiting ones.
        `limit` names a limit (client.set_limit) capping how many instances naming it run at
        once across every runtime on the store, counted per `limit_key` when the limit is
        per key; the instance holds its slot from its first turn until it ends (a
        continue-as-new keeps it) and reports status "Pending" while it waits for one.

        Raises:
            InstanceAlreadyExistsError: the id is taken and if_exists="fail" (nothing is
                changed).
            InvalidArgumentError: the instance id (1-256 bytes, no control characters), the
                name (1-256 bytes), the serialized input (max_payload_bytes), `if_exists`,
                `priority` (0-9) or `limit` (1-200 bytes) is out of limits, or `limit_key` is
                given without `limit` (nothing is changed).
            InvalidTypeError: `limit` or `limit_key` is not a str.
            TypeError: `input` is not JSON-serializable.
        """

    @abstractmethod
    def start_orchestration_versioned(self, instance_id: str, name: str, input: Any,
                                      version: str, *, if_exists: str = "fail",
                                      priority: int = 0, limit: Optional[str] = None,
                                      limit_key: Optional[str] = None) -> None:
        """Starts `name` pinned to `version` (note: input before version); otherwise as
        start_orchestration."""

    @abstractmethod
    def start_orchestration_typed(self, instance_id: str, name: str, input: Any = None) -> None:
        """start_orchestration (the reference's typed variant: payloads are JSON values
        already)."""

    @abstractmethod
    def start_orchestration_versioned_typed(self, instance_id: str, name: str, input: Any,
                                            version: str) -> None:
        """start_orchestration_versioned (the reference's typed variant)."""

    @abstractmethod
    def get_status(self, instance_id: str) -> OrchestrationResult:
        """The current status without waiting; status "NotFound" for an unknown id."""

    @abstractmethod
    def wait_for_orchestration(self, instance_id: str,
                               timeout_ms: int = DEFAULT_TIMEOUT_MS) -> OrchestrationResult:
        """Waits until the instance is Completed or Failed and returns its status. An
        instance that does not exist yet is waited for too.

        Raises:
            OperationTimedOutError: "Operation timed out" when timeout_ms elapses first (a
                RuntimeError and a TimeoutError).
        """

    @abstractmethod
    def wait_for_orchestration_typed(self, instance_id: str,
                                     timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Any:
        """Waits like wait_for_orchestration and returns the output.

        Raises:
            OrchestrationFailedError: the instance failed (str() and `.error` are its error).
            OperationTimedOutError: timeout_ms elapsed first.
        """

    @abstractmethod
    def wait_for_status_change(self, instance_id: str, last_seen_version: int = 0,
                               poll_interval_ms: int = 200,
                               timeout_ms: int = DEFAULT_TIMEOUT_MS
                               ) -> Optional[OrchestrationResult]:
        """Waits until custom_status_version exceeds `last_seen_version` or the instance
        ends; returns its status then, or None on timeout. `poll_interval_ms` bounds how
        often a store without change notifications is read."""

    @abstractmethod
    def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        """Delivers `data` to the orchestration's `wait_for_event(event_name)`. An event for
        an unknown or finished instance is dropped without an error."""

    @abstractmethod
    def raise_event_typed(self, instance_id: str, event_name: str, data: Any = None) -> None:
        """raise_event (the reference's typed variant)."""

    @abstractmethod
    def enqueue_event(self, instance_id: str, queue_name: str, data: Any = None) -> None:
        """Appends `data` to the orchestration's event queue `queue_name` (FIFO, read by
        `dequeue_event`); dropped like raise_event for an unknown or finished instance."""

    @abstractmethod
    def enqueue_event_typed(self, instance_id: str, queue_name: str, data: Any = None) -> None:
        """enqueue_event (the reference's typed variant)."""

    @abstractmethod
    def cancel_instance(self, instance_id: str, reason: Optional[str] = None) -> None:
        """Cancels a running instance and its sub-orchestrations: it ends Failed with
        "canceled: <reason>". Nothing happens for an unknown or finished instance."""

    # ---- operating failed and stuck work (docs/operations.md) -----------------------------

    @abstractmethod
    def suspend_instance(self, instance_id: str, reason: Optional[str] = None) -> None:
        """Suspends a running instance: no new turn and no new activity of it starts
        (activities already running finish and are recorded); events, messages, timers and
        completions keep arriving and wait. get_status shows "Suspended" with the reason as
        its error. Suspending a suspended instance replaces the reason.

        Raises:
            NotFoundError: the instance does not exist.
            FailedPreconditionError: it has ended (the message names its status).
        """

    @abstractmethod
    def resume_instance(self, instance_id: str, reason: Optional[str] = None) -> None:
        """Continues a suspended instance: what arrived meanwhile is processed, parked
        activities are queued again (a turn that failed under old code is retried under the
        code that runs now).

        Raises:
            NotFoundError: the instance does not exist.
            FailedPreconditionError: it is not suspended (the message names its status).
        """

    @abstractmethod
    def terminate_instance(self, instance_id: str, reason: Optional[str] = None, *,
                           output: Any = None, recursive: bool = True) -> None:
        """Ends an instance at once, without running any of its code: status "Terminated"
        (error "terminated: <reason>", `output` kept as its output), its queued activities
        are dropped (running ones finish, their results are ignored) and, when `recursive`,
        its running sub-orchestrations are terminated too. Works on a suspended instance.

        Raises:
            NotFoundError: the instance does not exist.
            FailedPreconditionError: it has ended already.
            TypeError: `output` is not JSON-serializable.
        """

    @abstractmethod
    def rerun(self, instance_id: str, *, from_event_id: Optional[int] = None,
              new_instance_id: Optional[str] = None, input: Any = None) -> str:
        """Starts a new root instance (default id f"{instance_id}~{n}", n counting this
        instance's reruns from 1) whose history is this ended instance's history before
        `from_event_id`, then continues under the code that runs now; returns its id.

        Default from_event_id: for a Failed instance the event that failed it (so the failed
        step runs again); for any other ended instance none (a fresh start with the same
        input, or `input`). The runtime taking the new instance's first turn replays the
        copied prefix against its code; if the code no longer produces it, the new instance
        is Suspended with the replay report as its reason and nothing after the prefix runs.

        Raises:
            NotFoundError: the instance does not exist.
            FailedPreconditionError: it has not ended, or the prefix waits for one of its
                sub-orchestrations.
            InvalidArgumentError: from_event_id is outside its history.
            InstanceAlreadyExistsError: new_instance_id is taken.
        """

    @abstractmethod
    def get_pending(self, instance_id: str) -> PendingWork:
        """What the instance waits on now (activities, timers, events, queues, requests,
        sub-orchestrations), derived from its history and queue rows when asked.

        Raises:
            NotFoundError: the instance does not exist.
        """

    @abstractmethod
    def bulk(self, action: str, *, status: Optional[str] = None, name: Optional[str] = None,
             id_prefix: Optional[str] = None, created_after_ms: Optional[int] = None,
             created_before_ms: Optional[int] = None, reason: Optional[str] = None,
             dry_run: bool = False) -> BulkResult:
        """Applies `action` ("cancel", "terminate", "suspend", "resume", "rerun",
        "delete") to every root and child instance matching all given filters (status as
        get_status shows it, orchestration name, id prefix, created within
        [created_after_ms, created_before_ms)). With dry_run nothing is done and `matched`
        lists what would be. Each instance is acted on by itself: one that refuses (e.g.
        has ended) goes to `failed` with its error and the others go on.

        Raises:
            InvalidArgumentError: an unknown action or a bad filter, before anything runs.
        """

    # ---- KV -------------------------------------------------------------------------------

    @abstractmethod
    def get_kv_value(self, instance_id: str, key: str) -> Optional[str]:
        """The raw (JSON text) value of `key` in the instance's KV store, or None."""

    @abstractmethod
    def get_kv_value_typed(self, instance_id: str, key: str) -> Any:
        """get_kv_value parsed as JSON (None when the key does not exist)."""

    @abstractmethod
    def wait_for_kv_value(self, instance_id: str, key: str,
                          timeout_ms: int = DEFAULT_TIMEOUT_MS) -> str:
        """Waits until `key` exists and returns its raw value.

        Raises:
            OperationTimedOutError: "Timed out waiting for value '<key>' on instance '<id>'"
                (a TimeoutError).
        """

    @abstractmethod
    def wait_for_kv_value_typed(self, instance_id: str, key: str,
                                timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Any:
        """wait_for_kv_value parsed as JSON."""

    @abstractmethod
    def get_kv_all(self, instance_id: str) -> Dict[str, str]:
        """The live KV store of an instance as {key: raw value} ({} for an unknown one)."""

    # ---- management: listing and inspection -------------------------------------------------

    @abstractmethod
    def list_all_instances(self) -> List[str]:
        """Ids of every instance in the store, newest first."""

    @abstractmethod
    def list_instances_by_status(self, status: str) -> List[str]:
        """Ids of the instances whose current execution has `status` ("Running",
        "Completed", "Failed" or "ContinuedAsNew"), newest first; [] for any other text."""

    @abstractmethod
    def get_instance_info(self, instance_id: str) -> _core.InstanceInfo:
        """Name, version, status, stored output, parent and timestamps of an instance.

        Raises:
            NotFoundError: "Instance <id> not found" (also while its start is queued).
        """

    @abstractmethod
    def get_execution_info(self, instance_id: str, execution_id: int) -> _core.ExecutionInfo:
        """One execution (1-based id) of an instance.

        Raises:
            NotFoundError: the instance or the execution does not exist.
        """

    @abstractmethod
    def list_executions(self, instance_id: str) -> List[int]:
        """Execution ids of an instance in ascending order ([] for an unknown instance)."""

    @abstractmethod
    def read_execution_history(self, instance_id: str,
                               execution_id: int) -> List[_core.Event]:
        """The events of one execution, ordered by event_id (each with its `raw` JSON).

        Raises:
            NotFoundError: the instance or the execution does not exist.
        """

    @abstractmethod
    def get_instance_tree(self, instance_id: str) -> _core.InstanceTree:
        """The instance and all its sub-orchestrations, breadth-first (root first)."""

    # ---- management: deletion and pruning -------------------------------------------------

    @abstractmethod
    def delete_instance(self, instance_id: str,
                        force: bool = False) -> _core.DeleteInstanceResult:
        """Deletes a root instance and its whole tree of sub-orchestrations, atomically.

        Raises:
            NotFoundError: the instance does not exist.
            FailedPreconditionError: it is a sub-orchestration, or (without `force`) it or
                one of its descendants is still running.
        """

    @abstractmethod
    def delete_instance_bulk(self, filter: Optional[_core.InstanceFilter] = None
                             ) -> _core.DeleteInstanceResult:
        """Deletes the trees of the finished root instances matching `filter` (every one by
        default); running ones are skipped."""

    @abstractmethod
    def prune_executions(self, instance_id: str, options: Optional[_core.PruneOptions] = None
                         ) -> _core.PruneResult:
        """Deletes old executions of an instance; never the current or a running one."""

    @abstractmethod
    def prune_executions_bulk(self, filter: Optional[_core.InstanceFilter] = None,
                              options: Optional[_core.PruneOptions] = None
                              ) -> _core.PruneResult:
        """prune_executions over every instance matching `filter`, running ones included."""

    # ---- management: metrics ----------------------------------------------------------------

    @abstractmethod
    def get_system_metrics(self) -> _core.SystemMetrics:
        """Instance, execution and event counts over the whole store."""

    @abstractmethod
    def get_queue_depths(self) -> _core.QueueDepths:
        """Pending messages in the orchestrator and worker queues, and future timers."""

    @abstractmethod
    def get_orchestration_stats(self, instance_id: str) -> Optional[_core.SystemStats]:
        """Storage figures of one instance, or None for an unknown instance."""

    # ---- the worker registry ------------------------------------------------------------------

    @abstractmethod
    def list_workers(self) -> List[WorkerInfo]:
        """Every registered worker (live, draining, stopped or unreachable), by name."""

    @abstractmethod
    def get_worker(self, name_or_id: str) -> WorkerInfo:
        """The worker whose worker_id (or else name) is `name_or_id`.

        Raises:
            InvalidTypeError: `name_or_id` is not a non-empty str.
            NotFoundError: no such worker.
        """

    @abstractmethod
    def drain_worker(self, name_or_id: str) -> WorkerInfo:
        """Asks a worker to drain: it stops claiming new work, finishes what is in flight,
        releases its sessions and reports "draining", then "stopped". The worker picks the
        request up with its next heartbeat. Returns the worker's record.

        Raises:
            NotFoundError: no such worker.
            FailedPreconditionError: the worker is already stopped.
        """

    @abstractmethod
    def prune_workers(self, retention_ms: int) -> int:
        """Deletes the records of workers silent (stopped or dead) for longer than
        retention_ms; returns how many. Runtimes also do this on their own
        (RuntimeOptions.worker_retention_ms, default 24 h).

        Raises:
            InvalidArgumentError: retention_ms is not an int >= 0.
        """

    @abstractmethod
    def list_unservable_work(self) -> List[UnservableWork]:
        """Queued orchestrations and activities that no live worker can run (name or version
        not registered on any live worker, a tag no live worker accepts), grouped, oldest
        wait first. Looks at the oldest 10,000 queued items."""

    # ---- durable schedules (docs/schedules.md) -------------------------------------------------

    @abstractmethod
    def create_schedule(self, schedule_id: str, orchestration: str, input: Any = None, *,
                        cron: Optional[str] = None, every_ms: Optional[int] = None,
                        version: Optional[str] = None, timezone: str = "UTC",
                        overlap: str = "skip", catchup_window_ms: int = 60_000,
                        jitter_ms: int = 0, start_at_ms: Optional[int] = None,
                        end_at_ms: Optional[int] = None, paused: bool = False,
                        note: Optional[str] = None) -> ScheduleInfo:
        """Creates a schedule that starts `orchestration` with `input` at each occurrence of
        `cron` (5 fields, or 6 with seconds first, in `timezone`) or every `every_ms`
        milliseconds, as instance "<schedule_id>@<fire_ms>" (fire_ms: the nominal time), so
        an occurrence never starts twice. `overlap`: skip | buffer_one | allow_all |
        cancel_other. Runs start at most `jitter_ms` late (deterministic per occurrence);
        only occurrences in [start_at_ms, end_at_ms) fire.

        Raises:
            ScheduleAlreadyExistsError: the id is taken (nothing is changed).
            InvalidArgumentError: a bad option, naming it: cron expression, unknown time
                zone, both or neither of cron/every_ms, every_ms < 1000, unknown overlap,
                end_at_ms <= start_at_ms (nothing is written).
        """

    @abstractmethod
    def get_schedule(self, schedule_id: str) -> ScheduleInfo:
        """The schedule `schedule_id`.

        Raises:
            NotFoundError: no such schedule.
        """

    @abstractmethod
    def list_schedules(self) -> List[ScheduleInfo]:
        """Every schedule, by id."""

    @abstractmethod
    def update_schedule(self, schedule_id: str, **fields: Any) -> ScheduleInfo:
        """Changes options of a schedule (the keyword options of create_schedule, and
        orchestration); giving cron clears every_ms and the other way round. A change of
        timing re-arms the next fire time from now. Returns the stored schedule.

        Raises:
            NotFoundError: no such schedule.
            InvalidArgumentError: an unknown field or a bad value (nothing is written).
        """

    @abstractmethod
    def pause_schedule(self, schedule_id: str, note: Optional[str] = None) -> ScheduleInfo:
        """Stops a schedule from firing (a waiting buffered start is dropped); `note` says
        why. Raises NotFoundError for an unknown id."""

    @abstractmethod
    def resume_schedule(self, schedule_id: str) -> ScheduleInfo:
        """Resumes a paused schedule from the next occurrence after now (the occurrences
        while it was paused are not started). Raises NotFoundError for an unknown id."""

    @abstractmethod
    def trigger_schedule(self, schedule_id: str) -> str:
        """Starts one run now (whatever the overlap policy) and returns its instance id.
        Raises NotFoundError for an unknown id."""

    @abstractmethod
    def backfill_schedule(self, schedule_id: str, start_ms: int, end_ms: int) -> List[str]:
        """Starts now the runs the schedule would have started for its occurrences in
        [start_ms, end_ms), with its overlap policy applied as if each one had come while
        the one before was still running (allow_all: all; skip: the first; buffer_one: the
        first plus one waiting; cancel_other: the last). An occurrence that already ran is
        not started again. Returns the instance ids, oldest first.

        Raises:
            NotFoundError: no such schedule.
            InvalidArgumentError: end_ms <= start_ms, or more than 10,000 occurrences.
        """

    @abstractmethod
    def delete_schedule(self, schedule_id: str) -> None:
        """Deletes a schedule (its runs are not touched). Raises NotFoundError for an
        unknown id."""

    # ---- named limits (docs/flow-control.md) ---------------------------------------------------

    @abstractmethod
    def set_limit(self, name: str, limit: Limit) -> None:
        """Creates or replaces the named limit `name` (stored in the store, enforced at claim
        time by every runtime on it; a change restarts its token buckets full).

        Raises:
            InvalidArgumentError: an empty name (nothing is written; a `Limit` checks its own
                values when it is built).
        """

    @abstractmethod
    def get_limit(self, name: str) -> LimitInfo:
        """The limit `name` with its load (in flight, waiting, busiest keys when per_key).
        Raises NotFoundError for an unknown name."""

    @abstractmethod
    def list_limits(self) -> List[LimitInfo]:
        """Every limit with its load, by name."""

    @abstractmethod
    def delete_limit(self, name: str) -> None:
        """Deletes a limit; tasks naming it then wait until it is defined again. Raises
        NotFoundError for an unknown name."""

    # ---- messaging ----------------------------------------------------------------------------

    @abstractmethod
    def send_message(self, instance_id: str, queue: str, data: Any = None) -> str:
        """Sends `data` to `instance_id`'s queue `queue` (read by receive_message); returns
        the message id. A message to an instance that does not exist, completed or failed
        becomes a dead letter; an actor id starts the actor."""

    @abstractmethod
    def publish_event(self, topic: str, data: Any = None) -> int:
        """Publishes `data` to every current subscriber of `topic`; returns its sequence
        number."""

    @abstractmethod
    def request(self, instance_id: str, operation: str, data: Any = None,
                timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS) -> Any:
        """Sends a request to an instance and blocks until its reply; returns the reply value.

        Raises:
            RequestFailedError: an error reply, or the target completed, failed or does not
                exist.
            RequestTimedOutError: no reply within timeout_ms.
        """

    @abstractmethod
    def list_dead_letters(self, instance_id: Optional[str] = None) -> List[DeadLetter]:
        """Undeliverable messages (oldest first), optionally only those meant for one
        instance."""

    @abstractmethod
    def redeliver_dead_letter(self, id: int) -> None:
        """Moves dead letter `id` back to its recipient's queue.

        Raises:
            NotFoundError: no dead letter has this id.
        """

    @abstractmethod
    def purge_dead_letters(self, instance_id: Optional[str] = None,
                           before_ms: Optional[int] = None,
                           ids: Optional[Sequence[int]] = None) -> int:
        """Deletes dead letters (all, or those matching every given filter: recipient,
        created before `before_ms`, one of `ids`); returns how many."""

    @abstractmethod
    def list_topics(self) -> List[TopicInfo]:
        """Every topic with its subscriber count and backlog."""

    @abstractmethod
    def get_topic(self, topic: str) -> TopicDetail:
        """A topic's subscribers with their cursor lag.

        Raises:
            NotFoundError: no such topic.
        """

    @abstractmethod
    def actor(self, actor_type: str, key: str) -> ActorRef:
        """The address of actor (actor_type, key): `.send(data)`, `.request(data)`,
        `.state()`, working through this client.

        Raises:
            InvalidArgumentError: an empty type or key, a type containing "/", or a type that
                no registry of this process knows (when this process registered any).
        """

    @abstractmethod
    def debounce(self, key: str, orchestration: str, item: Any, *, window_ms: int,
                 max_wait_ms: Optional[int] = None, max_items: Optional[int] = None,
                 version: Optional[str] = None) -> str:
        """Adds `item` to the open batch of `key` and returns the batch's instance id,
        f"{key}@{n}" (n counts the key's batches from 1). The batch's orchestration starts
        with the list of all its items, in arrival order, once `window_ms` passes with no new
        item, `max_wait_ms` after its first item, or when it holds `max_items`; the next call
        opens batch n+1. Durable and exactly once (docs/flow-control.md, "Debounce"). A
        runtime (any process on the store) must be running: it takes the item and answers.

        Raises:
            InvalidArgumentError: an empty key or orchestration, `window_ms`, `max_wait_ms`
                or `max_items` < 1 (nothing is sent).
            RequestTimedOutError: no runtime took the item within the request timeout (the
                item stays queued and joins a batch when one does).
        """

    @abstractmethod
    def list_actors(self, actor_type: Optional[str] = None) -> List[ActorInfo]:
        """Actor instances (optionally of one type) with their status."""

    # ---- task graphs, the task cache, capability-routed work ----------------------------------

    @abstractmethod
    def submit(self, handle: TaskHandle, instance_id: Optional[str] = None) -> str:
        """Starts the built-in graph orchestration for `handle` (a call of a @task function
        whose arguments may be other handles) as `instance_id` (default "graph-<uuid>") and
        returns the id; wait_for_orchestration(id) then returns the root task's result. The
        graph travels as data (task names and arguments): the workers run the functions.

        Raises:
            InvalidTypeError: `handle` is not a task handle.
        """

    @abstractmethod
    def get_graph(self, instance_id: str) -> TaskGraph:
        """The task graph of an instance: {"instance_id", "nodes": [{id, task, input,
        status, worker, workers, attempts, start, end, cache_hit, error, deps}],
        "edges": [(from, to)]}; no nodes for an unknown instance or one that is not a
        graph. status is "pending", "running", "completed", "cached", "failed" or
        "skipped"."""

    @abstractmethod
    def clear_task_cache(self, task: Union[str, TaskFunction, None] = None) -> int:
        """Removes cached task results (of `task`, a name or a @task function, or all);
        returns how many."""

    @abstractmethod
    def list_waiting_activities(self, min_wait_ms: int = 0,
                                limit: int = 1000) -> List[WaitingActivity]:
        """Unclaimed activities that have waited at least min_wait_ms (oldest first, at most
        `limit`) for a reason the store knows: a capability requirement no live worker's
        capabilities satisfy, or a named limit that is full, out of tokens or not defined
        (`reason` says which; `limit`/`limit_key` name it)."""


def operations() -> Tuple[str, ...]:
    """The names of the ClientAPI operations, in the order they are defined."""
    return tuple(name for name, member in vars(ClientAPI).items()
                 if not name.startswith("_") and getattr(member, "__isabstractmethod__", False))


def signature(name: str) -> inspect.Signature:
    """The signature of operation `name` as ClientAPI declares it (for generated twins)."""
    member = vars(ClientAPI)[name]
    if isinstance(member, property):
        assert member.fget is not None
        return inspect.signature(member.fget)
    return inspect.signature(member)


def arguments(name: str, *args: Any, **kwargs: Any) -> Dict[str, Any]:
    """The arguments of a call of operation `name` by parameter name, defaults included, bound
    by ClientAPI's signature: a client whose method takes `**options` for a long list of
    options declared here gets them all; a wrong argument raises TypeError, as a call would."""
    try:
        bound = signature(name).bind(None, *args, **kwargs)
    except TypeError as err:
        raise TypeError(f"{name}() {err}") from None
    bound.apply_defaults()
    return {key: value for key, value in bound.arguments.items() if key != "self"}
