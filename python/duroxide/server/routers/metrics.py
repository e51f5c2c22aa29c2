"""/v1/metrics and /v1/queues: store-wide counts, queue depths and their recent history."""

from __future__ import annotations

import collections
import time
from typing import Any, Deque, Tuple

import anyio
from fastapi import APIRouter, Depends, Request, Response

from duroxide.server import convert, models
from duroxide.server.deps import ServerState, require_token, run, state
from duroxide.server.errors import problems
from duroxide.worker import metrics as prometheus

router = APIRouter(prefix="/v1", tags=["metrics"], dependencies=[Depends(require_token)],
                   responses=problems(401, 403, 503))

# GET /metrics: the Prometheus text exposition of the store's gauges (docs/observability.md).
# Behind the token like every data route; Prometheus sends it with `authorization:` in its
# scrape config. Outside the versioned /v1 API and its OpenAPI document: the path and the
# format are Prometheus's convention, not part of duroxide's REST contract.
exposition_router = APIRouter(tags=["metrics"], dependencies=[Depends(require_token)],
                              responses=problems(401, 403, 503))


def _now_ms() -> int:
    return int(time.time() * 1000)


def _read(client: Any) -> Tuple[models.SystemMetrics, models.QueueDepths]:
    return (convert.fields(client.get_system_metrics(), models.SystemMetrics),
            convert.fields(client.get_queue_depths(), models.QueueDepths))


class MetricsSampler:
    """Keeps the last `settings.metrics_samples` readings, one every metrics_interval_s.

    A view cache for the dashboard's charts only: it lives in this process and starts empty.
    """

    def __init__(self, st: ServerState):
        self.state = st
        self.samples: Deque[models.MetricsSample] = collections.deque(
            maxlen=st.settings.metrics_samples)

    async def run(self) -> None:
        interval = self.state.settings.metrics_interval_s
        while interval > 0:
            try:
                system, queues = await run(_read, self.state.client)
                self.samples.append(models.MetricsSample(timestamp_ms=_now_ms(), system=system,
                                                         queues=queues))
            except Exception:  # noqa: BLE001 - a store hiccup skips one sample
                pass
            await anyio.sleep(interval)


@router.get("/metrics", response_model=models.Metrics, summary="Counts, queue depths, server")
async def get_metrics(request: Request) -> models.Metrics:
    st = state(request)
    system, queues = await run(_read, st.client)
    server = models.ServerStats(active_waits=st.active_waits,
                                uptime_ms=int((time.monotonic() - st.started) * 1000))
    return models.Metrics(timestamp_ms=_now_ms(), system=system, queues=queues, server=server)


@router.get("/metrics/history", response_model=models.MetricsHistory,
            summary="Recent samples of the metrics (kept by this server process)")
async def get_metrics_history(request: Request) -> models.MetricsHistory:
    sampler: MetricsSampler = request.app.state.sampler
    interval_ms = int(state(request).settings.metrics_interval_s * 1000)
    return models.MetricsHistory(interval_ms=interval_ms, samples=list(sampler.samples))


@router.get("/queues", response_model=models.QueueDepths, summary="Queue depths")
async def get_queue_depths(request: Request) -> models.QueueDepths:
    depths = await run(state(request).client.get_queue_depths)
    return convert.fields(depths, models.QueueDepths)  # type: ignore[no-any-return]


@exposition_router.get("/metrics", response_class=Response, include_in_schema=False,
                       summary="Prometheus metrics (text exposition format)")
async def get_prometheus_metrics(request: Request) -> Response:
    st = state(request)
    registry = getattr(request.app.state, "prometheus_registry", None)
    if registry is None:
        client = st.client
        registry = prometheus.registry_for(prometheus.DuroxideCollector(None, lambda: client))
        request.app.state.prometheus_registry = registry
    body, content_type = await run(prometheus.exposition, registry)
    return Response(content=body, media_type=content_type)
