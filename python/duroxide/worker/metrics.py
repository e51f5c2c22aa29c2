"""Prometheus metrics: the runtime's counters and histograms and the store's gauges, read at
scrape time (docs/observability.md has the reference).

Nothing here runs on the hot path: the core counts in atomics and one small table per activity
name (cpp/duroxide/runtime/metrics.h); a scrape copies them (the GIL released) and turns them
into metric families. `prometheus_client` is imported only when metrics are served, so the
package works without it (`pip install duroxide[prometheus]`).

Label values are bounded: statuses, queue kinds and registered activity names, never instance
ids.
"""

from __future__ import annotations

import errno
import threading
import weakref
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from duroxide.errors import InvalidArgumentError

# Runtime counters exported under their own names (api.md 1.11 keys -> metric, help).
_COUNTERS: Dict[str, Tuple[str, str]] = {
    "orch_starts": ("duroxide_orchestrations_started_total",
                    "Orchestration executions started by this runtime"),
    "suborchestration_calls": ("duroxide_suborchestration_calls_total",
                               "Sub-orchestrations scheduled by this runtime's turns"),
    "orch_dispatcher_items_fetched": ("duroxide_orchestration_items_fetched_total",
                                      "Orchestration work items fetched"),
    "worker_dispatcher_items_fetched": ("duroxide_activity_items_fetched_total",
                                        "Activity work items fetched"),
    "activity_handoffs": ("duroxide_activity_handoffs_total",
                          "Activities leased to this runtime in the scheduling turn's commit"),
    "orch_dispatchers_added": ("duroxide_orchestration_dispatchers_added_total",
                               "Orchestration dispatchers woken by a backlog (adaptive count)"),
    "orch_dispatchers_retired": ("duroxide_orchestration_dispatchers_retired_total",
                                 "Orchestration dispatchers parked when idle (adaptive count)"),
    "worker_dispatchers_added": ("duroxide_worker_dispatchers_added_total",
                                 "Worker slots woken by a backlog (adaptive count)"),
    "worker_dispatchers_retired": ("duroxide_worker_dispatchers_retired_total",
                                   "Worker slots parked when idle (adaptive count)"),
    "provider_errors": ("duroxide_provider_errors_total", "Store operations that failed"),
    "abandon_failures": ("duroxide_abandon_failures_total", "Hand-backs the store refused"),
    "dropped_messages": ("duroxide_messages_dropped_total",
                         "Stale, duplicate or undeliverable messages and queue messages over "
                         "the continue-as-new carry-forward cap"),
    "activity_requires_timeouts": ("duroxide_activity_requires_timeouts_total",
                                   "Activities failed waiting for a capable worker"),
}
# duroxide_orchestrations_completed_total{status}: how executions ended.
_COMPLETED: Dict[str, str] = {
    "orch_completions": "completed",
    "orch_failures": "failed",
    "orch_continue_as_new": "continued_as_new",
}
# duroxide_orchestration_errors_total{kind}: failures by category.
_ERROR_KINDS: Dict[str, str] = {
    "orch_application_errors": "application",
    "orch_infrastructure_errors": "infrastructure",
    "orch_configuration_errors": "configuration",
    "orch_poison": "poison",
}


# The native runtimes of this process (Runtime registers them), for the OpenTelemetry
# instruments that sum over a process (duroxide.otel).
_natives: "weakref.WeakSet[Any]" = weakref.WeakSet()


def track(native: Any) -> None:
    _natives.add(native)


def untrack(native: Any) -> None:
    _natives.discard(native)


def live_natives() -> List[Any]:
    return list(_natives)


def _families() -> Any:
    try:
        from prometheus_client import core
    except ImportError:  # pragma: no cover - depends on the installation
        raise InvalidArgumentError(
            "Prometheus metrics need the prometheus_client package: "
            "pip install 'duroxide[prometheus]'") from None
    return core


# Upper bounds (seconds) of duroxide_limit_wait_seconds: waits for a limit run from a poll
# interval to hours (a start queued behind a long-running batch).
LIMIT_WAIT_BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


def _buckets(bounds: List[float], counts: List[int]) -> List[Tuple[str, float]]:
    """Per-bucket counts -> cumulative (le, count) pairs ending with +Inf."""
    out: List[Tuple[str, float]] = []
    total = 0
    for le, n in zip([*map(str, bounds), "+Inf"], counts):
        total += n
        out.append((le, float(total)))
    return out


def runtime_families(native: Any) -> Iterator[Any]:
    """The metric families of one native runtime (its counters and histograms)."""
    core = _families()
    snap: Dict[str, int] = native.metrics_snapshot()
    detail: Dict[str, Any] = native.metrics_detail()
    for key, (name, doc) in _COUNTERS.items():
        c = core.CounterMetricFamily(name, doc)
        c.add_metric([], snap.get(key, 0))
        yield c
    done = core.CounterMetricFamily("duroxide_orchestrations_completed_total",
                                    "Orchestration executions ended, by status",
                                    labels=["status"])
    for key, status in _COMPLETED.items():
        done.add_metric([status], snap.get(key, 0))
    yield done
    errs = core.CounterMetricFamily("duroxide_orchestration_errors_total",
                                    "Orchestration failures by kind", labels=["kind"])
    for key, kind in _ERROR_KINDS.items():
        errs.add_metric([kind], snap.get(key, 0))
    yield errs
    yield from _activity_families(core, snap, detail)
    turn_counts, turn_sum = detail["turn"]
    turn = core.HistogramMetricFamily(
        "duroxide_turn_duration_seconds",
        "Wall time of committed orchestration turns, from fetch to acknowledgement",
        unit="seconds")
    turn.add_metric([], _buckets(detail["bounds"], turn_counts), turn_sum)
    yield turn


def _activity_families(core: Any, snap: Dict[str, int], detail: Dict[str, Any]) -> Iterator[Any]:
    total = core.CounterMetricFamily("duroxide_activities_total",
                                     "Activity attempts run by this runtime, by name and status",
                                     labels=["name", "status"])
    duration = core.HistogramMetricFamily("duroxide_activity_duration_seconds",
                                          "Run time of activity attempts", labels=["name"],
                                          unit="seconds")
    for name, (ok, failed, counts, seconds) in sorted(detail["activities"].items()):
        total.add_metric([name, "completed"], ok)
        total.add_metric([name, "failed"], failed)
        duration.add_metric([name], _buckets(detail["bounds"], counts), seconds)
    yield total
    yield duration
    other = core.CounterMetricFamily(
        "duroxide_activity_errors_total",
        "Activity attempts that never ran user code, by kind", labels=["kind"])
    for key, kind in (("activity_config_errors", "configuration"),
                      ("activity_infra_errors", "infrastructure"),
                      ("activity_poison", "poison")):
        other.add_metric([kind], snap.get(key, 0))
    yield other


def _gauge(core: Any, name: str, doc: str, label: str,
           values: Sequence[Tuple[str, float]]) -> Any:
    """A gauge family with one label: a sample per (label value, value)."""
    family = core.GaugeMetricFamily(name, doc, labels=[label])
    for label_value, value in values:
        family.add_metric([label_value], value)
    return family


def store_families(client: Any) -> Iterator[Any]:
    """Gauges of the whole store (any client): queue depths, instances, workers, messaging."""
    core = _families()
    depths = client.get_queue_depths()
    yield _gauge(core, "duroxide_queue_depth", "Messages waiting, by queue", "queue", [
        ("orchestrator", depths.orchestrator_queue), ("worker", depths.worker_queue),
        ("timer", depths.timer_queue)])
    system = client.get_system_metrics()
    other = (system.total_instances - system.running_instances - system.completed_instances
             - system.failed_instances)
    yield _gauge(core, "duroxide_instances", "Orchestration instances, by status", "status", [
        ("running", system.running_instances), ("completed", system.completed_instances),
        ("failed", system.failed_instances), ("other", max(other, 0))])
    by_status = {s: 0 for s in ("active", "draining", "stopped", "unreachable")}
    for w in client.list_workers():
        by_status[w.status] = by_status.get(w.status, 0) + 1
    yield _gauge(core, "duroxide_workers", "Registered workers, by status", "status",
                 sorted(by_status.items()))
    yield from _messaging_families(core, client)
    yield from _limit_families(core, client)


def _limit_families(core: Any, client: Any) -> Iterator[Any]:
    """Named limits (docs/flow-control.md): load per limit (names are set by operators, so
    bounded) and the tasks waiting for a limit, by reason (a task naming an undefined limit is
    "undefined_limit"; its name is not a label, since any code can name one)."""
    limits = client.list_limits()
    flight = core.GaugeMetricFamily("duroxide_limit_in_flight",
                                    "Tasks of a named limit running now", labels=["limit"])
    queued = core.GaugeMetricFamily("duroxide_limit_queued",
                                    "Tasks of a named limit queued (not running)",
                                    labels=["limit"])
    for info in limits:
        flight.add_metric([info.name], info.in_flight)
        queued.add_metric([info.name], info.waiting)
    yield flight
    yield queued
    waits = [w for w in client.list_waiting_activities()
             if w.get("reason") in ("limit", "undefined_limit")]
    count = core.GaugeMetricFamily(
        "duroxide_limit_waits", "Visible tasks (activities and orchestration starts) held back "
        "by their limit, by reason (limit: full or out of tokens; undefined_limit: no such "
        "limit)", labels=["reason"])
    # The distribution of how long the tasks waiting now have waited (a gauge histogram: the
    # store keeps no record of past waits, so every scrape describes the current backlog).
    # It replaced a gauge of the oldest wait under the same name, which is now
    # duroxide_limit_wait_oldest_seconds (docs/flow-control.md).
    hist = core.GaugeHistogramMetricFamily(
        "duroxide_limit_wait_seconds", "How long the tasks held back by their limit now have "
        "waited so far, by reason", labels=["reason"])
    oldest = core.GaugeMetricFamily(
        "duroxide_limit_wait_oldest_seconds", "How long the longest-waiting task held back by "
        "its limit has waited, by reason", labels=["reason"])
    for reason in ("limit", "undefined_limit"):
        mine = [w["waiting_ms"] / 1000.0 for w in waits if w["reason"] == reason]
        count.add_metric([reason], len(mine))
        cumulative = [(str(b), float(sum(1 for x in mine if x <= b))) for b in LIMIT_WAIT_BUCKETS]
        hist.add_metric([reason], [*cumulative, ("+Inf", float(len(mine)))], sum(mine))
        oldest.add_metric([reason], max(mine, default=0.0))
    yield count
    yield hist
    yield oldest


def _messaging_families(core: Any, client: Any) -> Iterator[Any]:
    dead = core.GaugeMetricFamily("duroxide_dead_letters",
                                  "Messages in the dead-letter store")
    dead.add_metric([], len(client.list_dead_letters()))
    yield dead
    topics = client.list_topics()
    t = core.GaugeMetricFamily("duroxide_topics", "Topics with at least one subscriber")
    t.add_metric([], len(topics))
    yield t
    subs = core.GaugeMetricFamily("duroxide_topic_subscribers", "Subscriptions over all topics")
    subs.add_metric([], sum(x.subscribers for x in topics))
    yield subs
    backlog = core.GaugeMetricFamily("duroxide_topic_backlog",
                                     "Published entries not yet taken, over all topics")
    backlog.add_metric([], sum(x.backlog for x in topics))
    yield backlog


class DuroxideCollector:
    """A prometheus_client collector over a runtime (optional) and a store client (optional).

    Register it on a CollectorRegistry; each scrape reads fresh values. A store that cannot be
    read skips the store gauges of that scrape (duroxide_scrape_errors_total counts them)
    rather than failing the runtime's own metrics.
    """

    def __init__(self, native_runtime: Any = None,
                 client: Optional[Callable[[], Any]] = None) -> None:
        self._native = native_runtime
        self._client = client
        self._store_errors = 0
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Any]:
        core = _families()
        with self._lock:  # concurrent scrapes read the store once each, not in parallel
            if self._native is not None:
                yield from runtime_families(self._native)
            if self._client is not None:
                try:
                    families = list(store_families(self._client()))
                except Exception:  # noqa: BLE001 - a store hiccup must not fail the scrape
                    self._store_errors += 1
                    families = []
                yield from families
            errors = core.CounterMetricFamily("duroxide_scrape_errors_total",
                                              "Scrapes whose store gauges could not be read")
            errors.add_metric([], self._store_errors)
            yield errors


def registry_for(collector: DuroxideCollector) -> Any:
    from prometheus_client import CollectorRegistry

    reg = CollectorRegistry(auto_describe=False)
    reg.register(collector)
    return reg


def exposition(registry: Any) -> Tuple[bytes, str]:
    """The text exposition of `registry` and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(registry), CONTENT_TYPE_LATEST


class MetricsServer:
    """A running /metrics endpoint (Runtime.serve_metrics); stop() closes it."""

    def __init__(self, server: Any, thread: threading.Thread, host: str, port: int) -> None:
        self._server = server
        self._thread = thread
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve(registry: Any, port: int, host: str) -> MetricsServer:
    """Serves `registry` on http://host:port/metrics from a daemon thread.

    Raises InvalidArgumentError naming the address when the port is in use or invalid.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidArgumentError(f"metrics port must be an int in 0..65535, got {port!r}")
    from prometheus_client import start_http_server

    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise InvalidArgumentError(
                f"metrics port {port} on {host} is already in use; choose another "
                f"--metrics-port / serve_metrics(port=...)") from exc
        raise InvalidArgumentError(f"cannot serve metrics on {host}:{port}: {exc}") from exc
    return MetricsServer(server, thread, host, int(server.server_address[1]))
