"""/v1/health (the process answers) and /v1/health/ready (the store answers).

Both are open without a token, so that load balancers and orchestrators can probe them; they
reveal nothing but "up" or "down".
"""

from __future__ import annotations

import time

import anyio
from fastapi import APIRouter, Request

import duroxide
from duroxide.errors import ProviderError
from duroxide.server import models
from duroxide.server.deps import state
from duroxide.server.errors import problems

router = APIRouter(prefix="/v1/health", tags=["health"])

READY_TIMEOUT_S = 5.0


@router.get("", response_model=models.Health, summary="Liveness")
async def health() -> models.Health:
    return models.Health(status="ok", version=duroxide.__version__)


@router.get("/ready", response_model=models.Readiness, responses=problems(503),
            summary="Readiness: the store answers a query")
async def ready(request: Request) -> models.Readiness:
    client = state(request).client
    started = time.perf_counter()
    try:
        with anyio.fail_after(READY_TIMEOUT_S):
            await anyio.to_thread.run_sync(client.get_queue_depths, abandon_on_cancel=True)
    except TimeoutError:
        raise ProviderError(
            f"The store did not answer within {READY_TIMEOUT_S:.0f} s") from None
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        raise ProviderError(f"The store is unavailable: {exc}") from None
    return models.Readiness(status="ready",
                            store_latency_ms=round((time.perf_counter() - started) * 1000, 3))
