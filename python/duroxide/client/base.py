"""ClientBase: the ClientAPI operations that are built on other operations, written once.

`Client` and `HttpClient` inherit these; each implements only the operations that reach its
transport (the core, or the REST API). What is here therefore behaves identically for both:
the `*_typed` helpers, actor references, task-graph submission (the graph is data: task names
and arguments, started as the built-in graph orchestration), looking up one worker, listing
actors, and the context-manager protocol.
"""

from __future__ import annotations

import inspect
import json
import uuid
from abc import abstractmethod
from typing import Any, List, NamedTuple, Optional

from duroxide._common import dumps_value
from duroxide.client.api import DEFAULT_TIMEOUT_MS, ClientAPI, operations
from duroxide.client.results import ActorInfo
from duroxide.client.validate import checked
from duroxide.client.workers import WorkerInfo
from duroxide.errors import InvalidTypeError, NotFoundError, OrchestrationFailedError
from duroxide.workflow.actors import ActorRef, parse_actor_id
from duroxide.workflow.debounce import (
    DEBOUNCE_OPERATION,
    debounce_instance_id,
    debounce_request,
)
from duroxide.workflow.flow import check_if_exists, check_limit_ref, check_priority
from duroxide.workflow.graphs import GRAPH_ORCHESTRATION, TaskHandle, graph_spec

# The reference's `*_typed` variants that are the plain operation itself (payloads are JSON
# values either way). Each implementation gets them as aliases of its own method, so
# `Client.raise_event_typed is Client.raise_event` as in the reference.
TYPED_ALIASES = {
    "start_orchestration_typed": "start_orchestration",
    "start_orchestration_versioned_typed": "start_orchestration_versioned",
    "raise_event_typed": "raise_event",
    "enqueue_event_typed": "enqueue_event",
}

# Operations written once in ClientBase that reach the transport through a hook each
# implementation writes: {operation: hook}. For the parity checks (tests/test_client_parity.py)
# a class that writes the hook implements the operation itself (it has a route).
TRANSPORT_HOOKS = {
    "start_orchestration": "_send_start",
    "start_orchestration_versioned": "_send_start",
}


class StartRequest(NamedTuple):
    """A start whose arguments ClientBase has checked: what `_send_start` sends."""

    op: str  # the operation, for messages ("start_orchestration", ...)
    instance_id: str
    name: str
    input: Any  # the JSON value ...
    payload: str  # ... and its JSON text (strict: dumps_value)
    version: Optional[str]
    if_exists: str
    priority: int
    limit: Optional[str]
    limit_key: str  # "" for none


class ClientBase(ClientAPI):
    """The derived operations of ClientAPI (see the module docstring)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_arguments(cls)

    def __enter__(self) -> "ClientBase":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- starts ------------------------------------------------------------------------------

    def start_orchestration(self, instance_id: str, name: str, input: Any = None, *,
                            if_exists: str = "fail", priority: int = 0,
                            limit: Optional[str] = None,
                            limit_key: Optional[str] = None) -> None:
        self._start("start_orchestration", instance_id, name, input, None, if_exists, priority,
                    limit, limit_key)

    def start_orchestration_versioned(self, instance_id: str, name: str, input: Any,
                                      version: str, *, if_exists: str = "fail",
                                      priority: int = 0, limit: Optional[str] = None,
                                      limit_key: Optional[str] = None) -> None:
        self._start("start_orchestration_versioned", instance_id, name, input, version,
                    if_exists, priority, limit, limit_key)

    def _start(self, op: str, instance_id: str, name: str, input: Any, version: Optional[str],
               if_exists: Any, priority: Any, limit: Any, limit_key: Any) -> None:
        # Every argument is checked before anything is sent (so nothing is written); ids and
        # names were checked by the `checked` wrapper, their emptiness and length are the
        # core's (Client) or the server's (HttpClient).
        policy, level = check_if_exists(if_exists), check_priority(priority)
        lim, key = check_limit_ref(limit, limit_key, op)
        payload = dumps_value(input, f"{op} input")
        self._send_start(StartRequest(op, instance_id, name, input, payload, version, policy,
                                      level, lim, key))

    @abstractmethod
    def _send_start(self, start: StartRequest) -> None:
        """Sends a checked start (the transport hook of both start operations)."""

    # The reference's typed starts are the starts themselves (TYPED_ALIASES).
    start_orchestration_typed = start_orchestration
    start_orchestration_versioned_typed = start_orchestration_versioned

    # ---- typed helpers (payloads are JSON values either way; see TYPED_ALIASES) -------------

    def raise_event_typed(self, instance_id: str, event_name: str, data: Any = None) -> None:
        self.raise_event(instance_id, event_name, data)

    def enqueue_event_typed(self, instance_id: str, queue_name: str, data: Any = None) -> None:
        self.enqueue_event(instance_id, queue_name, data)

    def wait_for_orchestration_typed(self, instance_id: str,
                                     timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Any:
        result = self.wait_for_orchestration(instance_id, timeout_ms)
        if result.status in ("Failed", "Terminated"):
            error = result.error or "Orchestration failed"
            raise OrchestrationFailedError(error, instance_id=instance_id, error=error)
        return result.output

    def get_kv_value_typed(self, instance_id: str, key: str) -> Any:
        raw = self.get_kv_value(instance_id, key)
        return None if raw is None else json.loads(raw)

    def wait_for_kv_value_typed(self, instance_id: str, key: str,
                                timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Any:
        return json.loads(self.wait_for_kv_value(instance_id, key, timeout_ms))

    # ---- workers, actors, task graphs --------------------------------------------------------

    def get_worker(self, name_or_id: str) -> WorkerInfo:
        if not isinstance(name_or_id, str) or not name_or_id:
            raise InvalidTypeError(
                f"get_worker: name_or_id must be a non-empty str, got {name_or_id!r}")
        workers = self.list_workers()
        for worker in workers:
            if worker.worker_id == name_or_id:
                return worker
        for worker in workers:
            if worker.name == name_or_id:
                return worker
        raise NotFoundError(f"Worker {name_or_id} not found")

    def actor(self, actor_type: str, key: str) -> ActorRef:
        return ActorRef(self, actor_type, key)

    def debounce(self, key: str, orchestration: str, item: Any, *, window_ms: int,
                 max_wait_ms: Optional[int] = None, max_items: Optional[int] = None,
                 version: Optional[str] = None) -> str:
        data = debounce_request(key, orchestration, item, window_ms, max_wait_ms, max_items,
                                version)
        return str(self.request(debounce_instance_id(key), DEBOUNCE_OPERATION, data))

    def list_actors(self, actor_type: Optional[str] = None) -> List[ActorInfo]:
        out = []
        for instance_id in self.list_all_instances():
            parsed = parse_actor_id(instance_id)
            if parsed is None or (actor_type is not None and parsed[0] != actor_type):
                continue
            out.append(ActorInfo(parsed[0], parsed[1], instance_id,
                                 self.get_status(instance_id).status))
        return out

    def submit(self, handle: TaskHandle, instance_id: Optional[str] = None) -> str:
        spec = graph_spec(handle)
        iid = instance_id or f"graph-{uuid.uuid4().hex}"
        self.start_orchestration(iid, GRAPH_ORCHESTRATION, spec)
        return iid


def check_arguments(cls: type, names: Optional[Any] = None) -> None:
    """Wraps each ClientAPI operation `cls` defines (of `names`, when given) with the argument
    checks of duroxide.client.validate (ids, names and integers; pybind11 conversion errors),
    so every implementation, the asyncio ones included, refuses the same arguments the same
    way before anything is written. A typed variant of TYPED_ALIASES that `cls` does not write
    (or that is the plain method itself) becomes the checked plain operation, so
    `Client.raise_event_typed is Client.raise_event` as in the reference."""
    originals = dict(vars(cls))
    for op in operations():
        impl = vars(cls).get(op)
        if (not inspect.isfunction(impl) or (names is not None and op not in names)
                or getattr(impl, "__duroxide_checked__", False)):
            continue
        setattr(cls, op, checked(op, getattr(ClientAPI, op), impl))
    for alias, plain in TYPED_ALIASES.items():
        if plain in originals and originals.get(alias, originals[plain]) is originals[plain]:
            setattr(cls, alias, vars(cls)[plain])


check_arguments(ClientBase)
