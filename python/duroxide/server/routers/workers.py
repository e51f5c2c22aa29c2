"""/v1/workers: the worker fleet with load and last heartbeat, and draining a worker.

Included when the Client has `list_workers` (the worker-fleet feature).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from duroxide.server.deps import require_token, run, state
from duroxide.server.errors import ApiError, problems

router = APIRouter(prefix="/v1/workers", tags=["workers"],
                   dependencies=[Depends(require_token)], responses=problems(401, 403, 503))


def available(client: Any) -> bool:
    return callable(getattr(client, "list_workers", None))


class Worker(BaseModel):
    """A registered worker (fields as Client.list_workers returns them)."""

    model_config = ConfigDict(extra="allow")

    worker_id: str = Field(description="the worker's id")


def as_dict(value: Any) -> Dict[str, Any]:
    """A plain dict of a result object (dataclass, dict, or an object with attributes)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return dict(value)
    return {k: v for k, v in vars(value).items() if not k.startswith("_")}


def _worker(value: Any) -> Worker:
    data = as_dict(value)
    data.setdefault("worker_id", str(data.get("id", data.get("name", ""))))
    return Worker.model_validate(data)


@router.get("", response_model=List[Worker], summary="Workers with load and last heartbeat")
async def list_workers(request: Request) -> List[Worker]:
    workers = await run(state(request).client.list_workers)
    return [_worker(w) for w in workers]


@router.get("/{worker_id}", response_model=Worker, responses=problems(404),
            summary="One worker")
async def get_worker(request: Request, worker_id: str = Path(min_length=1, max_length=512)
                     ) -> Worker:
    client = state(request).client
    if not callable(getattr(client, "get_worker", None)):
        raise ApiError(404, "this server cannot read single workers", error="NotFoundError")
    worker = await run(client.get_worker, worker_id)
    if worker is None:
        raise ApiError(404, f"Worker {worker_id} not found", error="NotFoundError",
                       slug="not-found")
    return _worker(worker)


class DrainResponse(BaseModel):
    worker_id: str
    drain_requested: bool


@router.post("/{worker_id}/drain", status_code=202, response_model=DrainResponse,
             responses=problems(404), summary="Ask a worker to finish its work and stop")
async def drain_worker(request: Request, worker_id: str = Path(min_length=1, max_length=512)
                       ) -> DrainResponse:
    client = state(request).client
    if not callable(getattr(client, "drain_worker", None)):
        raise ApiError(404, "this server cannot drain workers", error="NotFoundError")
    await run(client.drain_worker, worker_id)
    return DrainResponse(worker_id=worker_id, drain_requested=True)
