"""Runtime: registers orchestrations and activities and runs them on native threads."""

from __future__ import annotations

import asyncio
import atexit
import json
import weakref
from typing import (
    Any,
    Callable,
    Dict,
    KeysView,
    List,
    Optional,
    Tuple,
)

from duroxide import _core
from duroxide._common import __version__
from duroxide._providers import Provider, check_no_unfinished_import, closed_native, is_closed
from duroxide.client.limits import Limit, LimitStoreOps
from duroxide.client.native import Client
from duroxide.client.schedules import ScheduleStoreOps
from duroxide.errors import ClosedError, InvalidTypeError, RuntimeStateError
from duroxide.worker import logging as _logging
from duroxide.worker import metrics as _metrics
from duroxide.worker.async_activities import (
    DEFAULT_CONCURRENCY,
    DEFAULT_STALL_MS,
    AsyncActivityRunner,
)
from duroxide.worker.options import RuntimeOptions
from duroxide.worker.registry import ActivityEntry, DeclaredSchedule, Registrations, Registry
from duroxide.worker.schedules import ScheduleLoop
from duroxide.workflow.debounce import DEBOUNCE_ORCHESTRATION, debounce_loop
from duroxide.workflow.graphs import GRAPH_ORCHESTRATION, graph_orchestration

_live_runtimes: "weakref.WeakSet[Runtime]" = weakref.WeakSet()
# The schedule loop's short poll, used only while a buffered occurrence waits for its previous
# run to finish (worker/schedules.py); otherwise it sleeps until a due time or a change.
_SCHEDULE_POLL_MS = 250


@atexit.register
def _shutdown_all() -> None:
    # Dispatcher threads must stop before the interpreter finalizes.
    for rt in list(_live_runtimes):
        try:
            rt.shutdown(0)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


class _WorkerServices:
    """What the native worker passes to every activity call: called, a Client on the
    runtime's store (ActivityContext.get_client); `async_activities`, the runtime's event loop
    for `async def` activities (worker/async_activities.py)."""

    def __init__(self, provider: Any, options: RuntimeOptions) -> None:
        self.provider = provider
        self.async_activities = AsyncActivityRunner(
            options.async_activity_concurrency or DEFAULT_CONCURRENCY,
            DEFAULT_STALL_MS if options.async_loop_stall_ms is None
            else options.async_loop_stall_ms)

    def __call__(self) -> Client:
        return Client(self.provider)


class Runtime(Registrations):
    """Runs registered orchestrations and activities against a provider.

    Several runtimes, in one process or many, may share one provider.
    """

    def __init__(self, provider: Provider, options: Optional[RuntimeOptions] = None,
                 registry: Optional[Registry] = None) -> None:
        if options is None:
            options = RuntimeOptions()
        if not isinstance(options, RuntimeOptions):
            raise InvalidTypeError(
                f"options must be a RuntimeOptions, not {type(options).__name__}")
        if registry is not None and not isinstance(registry, Registry):
            raise InvalidTypeError(
                f"registry must be a duroxide.Registry, not {type(registry).__name__}")
        self._provider = provider
        self._options = options
        self._functions: Dict[str, Callable[..., Any]] = {}
        attach = getattr(provider, "_attach", None)
        provider_native = attach(self) if attach is not None else provider._native
        self._store = provider_native  # the native store handle (schedules)
        self._services = _WorkerServices(provider, options)
        self._native = _core.Runtime(provider_native, _native_options(options), self._functions,
                                     self._services)
        self._served_orchestrations: List[Tuple[str, str]] = []
        self._served_activities: List[str] = []
        self._declared_schedules: Dict[str, DeclaredSchedule] = {}
        self._declared_limits: Dict[str, Limit] = {}
        self._schedule_loop: Optional[ScheduleLoop] = None
        self._started = False
        self._stopped = False
        self._metrics_servers: List[_metrics.MetricsServer] = []
        # The runtime's own registrations; a given registry is followed (later additions to it
        # are served too) but never written to by this runtime's register_* methods.
        self._registry = Registry()
        self._registry._subscribe(self._on_registration)
        self._followed = registry
        if registry is not None:
            registry._subscribe(self._on_registration)
        # The built-in task-graph orchestration behind client.submit() (not in the registry).
        self._native.register_orchestration(GRAPH_ORCHESTRATION, "1.0.0")
        self._functions[GRAPH_ORCHESTRATION] = graph_orchestration
        # The built-in debouncer behind client.debounce() (docs/flow-control.md).
        self._native.register_orchestration(DEBOUNCE_ORCHESTRATION, "1.0.0")
        self._functions[DEBOUNCE_ORCHESTRATION] = debounce_loop
        _live_runtimes.add(self)

    # ---- registration ----------------------------------------------------------------------
    def _registrations(self) -> Registry:
        return self._registry

    @property
    def registry(self) -> Registry:
        """The registrations made through this runtime's register_* methods."""
        return self._registry

    def _on_registration(self, kind: str, key: Any, entry: Any) -> None:
        if kind == "on_failure":
            self._native.set_on_failure(key, entry == "suspend")
            return
        if kind == "schedule":
            assert isinstance(entry, DeclaredSchedule)
            self._declared_schedules[key] = entry
            return
        if kind == "limit":
            self._declared_limits[key] = entry
            return
        self._note_served(kind, key)
        if kind == "activity":
            assert isinstance(entry, ActivityEntry)
            self._native.register_activity(entry.name, entry.fn)
        else:
            name, version = key
            self._native.register_orchestration(name, version)
            # Resolved as name@version first, then by bare name for the default version.
            self._functions[f"{name}@{version}"] = entry
            if version == "1.0.0":
                self._functions[name] = entry

    def _note_served(self, kind: str, key: Any) -> None:
        # What the worker record says this runtime serves (docs/deployment.md).
        if kind == "activity":
            if key not in self._served_activities:
                self._served_activities.append(key)
        elif tuple(key) not in self._served_orchestrations:
            self._served_orchestrations.append((key[0], key[1]))
        self._native.set_serves(json.dumps({
            "orchestrations": [{"name": n, "version": v} for n, v in self._served_orchestrations],
            "activities": list(self._served_activities),
        }))

    # ---- fleet -----------------------------------------------------------------------------
    @property
    def worker_id(self) -> str:
        """This runtime's id in the worker registry (its worker_node_id when set)."""
        return str(self._native.worker_id)

    @property
    def worker_name(self) -> Optional[str]:
        """Its human-readable registry name (adjective-noun-NN), None until registered."""
        name = str(self._native.worker_name)
        return name or None

    def drain(self, timeout_ms: Optional[int] = None, grace_ms: Optional[int] = None) -> bool:
        """Drains this runtime: stops claiming work, finishes in-flight turns and activities
        (handing back what is still running after grace_ms, default 30000), releases its
        sessions and marks the worker stopped. Waits up to timeout_ms (default: grace + 5 s)
        and returns True once drained. Call shutdown() afterwards to stop the threads.
        """
        if not self._started or self._stopped:
            return True
        grace = 30000 if grace_ms is None else int(grace_ms)
        self._native.request_drain(grace)
        wait = grace + 5000 if timeout_ms is None else int(timeout_ms)
        return bool(self._native.wait_drained(wait))

    def request_drain(self, grace_ms: int = 30000) -> None:
        """Starts a drain (see drain()) and returns at once."""
        if self._started and not self._stopped:
            self._native.request_drain(int(grace_ms))

    @property
    def drained(self) -> bool:
        """True once a drain (local or through client.drain_worker) has finished."""
        return bool(self._native.drained)

    @property
    def drain_requested(self) -> bool:
        """True once a drain was requested, locally or through the store."""
        return bool(self._native.drain_requested)

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Starts the dispatcher threads and returns immediately."""
        if is_closed(self._native):
            raise ClosedError("Runtime is closed; create a new Runtime")
        if self._stopped:
            raise RuntimeStateError(
                "Runtime was shut down; a runtime cannot be restarted: create a new Runtime")
        if self._started:
            raise RuntimeStateError("Runtime already started")
        check_no_unfinished_import(self._provider)
        _logging.on_runtime_start()
        self._upsert_declared_schedules()
        for name, limit in self._declared_limits.items():  # before any claim (flow-control.md)
            LimitStoreOps(self._store).set(name, limit)
        self._native.start()
        self._started = True
        _metrics.track(self._native)
        if self._options.schedules_enabled:
            poll = self._options.dispatcher_poll_interval_ms or _SCHEDULE_POLL_MS
            self._schedule_loop = ScheduleLoop(self._store, min(poll, _SCHEDULE_POLL_MS),
                                               self._options.schedule_poll_interval_ms)
            self._schedule_loop.start()

    def _upsert_declared_schedules(self) -> None:
        # Declared schedules are written before the dispatchers start (docs/schedules.md).
        if not self._declared_schedules:
            return
        ops = ScheduleStoreOps(self._store)
        for declared in self._declared_schedules.values():
            ops.upsert(declared.spec, declared.given)

    def shutdown(self, timeout_ms: Optional[int] = None) -> None:
        """Stops taking work; waits up to timeout_ms (default 1000) for in-flight work.

        Returns as soon as in-flight turns and activities are done; whatever is still running
        after timeout_ms is handed back for redelivery.
        """
        if not self._started or self._stopped:
            return
        self._stopped = True
        if self._schedule_loop is not None:
            self._schedule_loop.stop()
        # Waits for async activities too (the native completion thread counts them); what is
        # still running after timeout_ms was handed back, and its coroutine is cancelled here.
        self._native.shutdown(1000 if timeout_ms is None else int(timeout_ms))
        self._services.async_activities.stop()
        _live_runtimes.discard(self)
        _metrics.untrack(self._native)  # the process-wide instruments count running runtimes
        _logging.flush()

    def close(self, timeout_ms: Optional[int] = None) -> None:
        """shutdown(timeout_ms), then releases the native runtime and its hold on the store.

        Idempotent. Afterwards start(), register_* and metrics_snapshot() raise ClosedError.
        """
        if is_closed(self._native):
            return
        self.shutdown(timeout_ms)
        self._stopped = True
        _live_runtimes.discard(self)
        _metrics.untrack(self._native)
        for server in self._metrics_servers:
            server.stop()
        self._metrics_servers.clear()
        if self._followed is not None:
            self._followed._unsubscribe(self._on_registration)
        self._native = closed_native("Runtime")
        # Drop every reference to the native store handle, or its connections outlive
        # provider.close() (the schedule loop keeps one too).
        self._store = closed_native("Runtime")
        self._schedule_loop = None

    @property
    def closed(self) -> bool:
        """True once close() was called (or its provider was closed)."""
        return is_closed(self._native)

    def metrics_snapshot(self) -> Optional["MetricsSnapshot"]:
        """Counters of this runtime (attribute or item access), None before start()."""
        if not self._started and not is_closed(self._native):
            return None
        values = dict(self._native.metrics_snapshot())
        loop = self._schedule_loop
        values.update(loop.metrics if loop is not None else ScheduleLoop.zero_metrics())
        return MetricsSnapshot(values)

    def metrics_collector(self) -> _metrics.DuroxideCollector:
        """A prometheus_client collector of this runtime's counters and histograms and of
        its store's gauges (queue depths, instances, workers, messaging), read per scrape."""
        if is_closed(self._native):
            raise ClosedError("Runtime is closed; create a new Runtime")
        client: List[Client] = []

        def store_client() -> Client:
            if not client:
                client.append(Client(self._provider))
            return client[0]

        return _metrics.DuroxideCollector(self._native, store_client)

    def serve_metrics(self, port: int, host: str = "127.0.0.1") -> _metrics.MetricsServer:
        """Serves Prometheus metrics on http://host:port/metrics (text exposition format)
        from a daemon thread until close() or the returned server's stop(). Port 0 picks a
        free port (see the result's .port). Needs prometheus_client (duroxide[prometheus]).

        Raises:
            InvalidArgumentError: the port is in use (the message names it) or invalid.
        """
        registry = _metrics.registry_for(self.metrics_collector())
        server = _metrics.serve(registry, port, host)
        self._metrics_servers.append(server)
        return server

    def __enter__(self) -> "Runtime":
        if not self._started:
            self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    # ---- inside an event loop (docs/async.md) -------------------------------------------------
    async def start_async(self) -> None:
        """start() without blocking the event loop (registration with the store runs in a
        worker thread of the loop's default executor)."""
        await asyncio.get_running_loop().run_in_executor(None, self.start)

    async def shutdown_async(self, timeout_ms: Optional[int] = None) -> None:
        """shutdown(timeout_ms) without blocking the event loop: the wait for in-flight work
        runs in a worker thread while the loop keeps serving (an async activity of this
        runtime may be among the work waited for)."""
        await asyncio.get_running_loop().run_in_executor(None, self.shutdown, timeout_ms)

    async def __aenter__(self) -> "Runtime":
        if not self._started:
            await self.start_async()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.shutdown_async()


def _native_options(options: RuntimeOptions) -> Dict[str, Any]:
    out: Dict[str, Any] = options._to_native()
    # Capabilities (free-form JSON) come from RuntimeOptions(capabilities=...) when that option
    # exists; stored as given in the worker record.
    capabilities = getattr(options, "capabilities", None)
    if capabilities is not None:
        out["capabilities_json"] = (capabilities if isinstance(capabilities, str)
                                    else json.dumps(capabilities, default=str))
    out.pop("capabilities", None)
    for python_only in ("async_activity_concurrency", "async_loop_stall_ms"):
        out.pop(python_only, None)
    out["duroxide_version"] = __version__
    return out


class MetricsSnapshot:
    """Runtime counters, readable as attributes or as snapshot['name']."""

    def __init__(self, values: Dict[str, int]):
        self._values = dict(values)

    def __getattr__(self, name: str) -> int:
        try:
            return int(self.__dict__["_values"][name])
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> int:
        return self._values[name]

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def keys(self) -> KeysView[str]:
        return self._values.keys()

    def to_dict(self) -> Dict[str, int]:
        return dict(self._values)

    def __repr__(self) -> str:
        return f"MetricsSnapshot({self._values})"
