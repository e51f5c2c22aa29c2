"""/v1/workers: the worker fleet with load and last heartbeat, draining a worker, pruning the
records of silent ones; /v1/unservable-work: queued work that no live worker can run."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from duroxide.client.api import ClientAPI
from duroxide.client.validate import INT64_MAX
from duroxide.errors import NotFoundError
from duroxide.server.deps import require_token, run, state, worker_path
from duroxide.server.errors import problems

router = APIRouter(prefix="/v1", tags=["workers"], dependencies=[Depends(require_token)],
                   responses=problems(401, 403, 503))


class Worker(BaseModel):
    """A registered worker (WorkerInfo.to_dict(); every field of it passes through)."""

    model_config = ConfigDict(extra="allow")

    worker_id: str = Field(description="the worker's stable id")
    name: Optional[str] = Field(default=None, description="adjective-noun-NN")
    status: Optional[str] = Field(default=None,
                                  description="active, draining, stopped or unreachable")
    host: Optional[str] = None
    pid: Optional[int] = None
    last_heartbeat_ms: Optional[int] = None
    load: Any = Field(default=None, description="turns/activities in flight, sessions held")
    capacity: Any = None
    drain_requested: Optional[bool] = None


class PruneWorkersRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retention_ms: int = Field(ge=0, le=INT64_MAX,
                              description="delete records silent for longer than this")


class PruneWorkersResponse(BaseModel):
    pruned: int


class Unservable(BaseModel):
    """Queued work no live worker can run, grouped by what it needs (UnservableWork)."""

    kind: str = Field(description="orchestration or activity")
    name: str
    version: Optional[str] = None
    tag: Optional[str] = None
    reason: str
    count: int
    oldest_wait_ms: int
    instance_ids: List[str] = Field(description="the instances concerned (at most 20)")


def as_dict(value: Any) -> Dict[str, Any]:
    """A plain dict of a result object (dataclass, dict, __slots__ or plain attributes)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return dict(value)
    slots = [name for cls in type(value).__mro__ for name in getattr(cls, "__slots__", ())]
    if slots:
        return {k: getattr(value, k) for k in slots if not k.startswith("_") and
                hasattr(value, k)}
    return {k: v for k, v in vars(value).items() if not k.startswith("_")}


def _worker(value: Any) -> Worker:
    data = as_dict(value)
    data.setdefault("worker_id", str(data.get("id", data.get("name", ""))))
    return Worker.model_validate(data)


@router.get("/workers", response_model=List[Worker],
            summary="Workers with load and last heartbeat")
async def list_workers(request: Request) -> List[Worker]:
    workers = await run(state(request).client.list_workers)
    return [_worker(w) for w in workers]


@router.get("/workers/{worker_id}", response_model=Worker, responses=problems(404),
            summary="One worker")
async def get_worker(request: Request, worker_id: str = Depends(worker_path)) -> Worker:
    worker: Any = await run(state(request).client.get_worker, worker_id)
    if worker is None:  # a ClientAPI raises NotFoundError; a looser stand-in may answer None
        raise NotFoundError(f"Worker {worker_id} not found")
    return _worker(worker)


def _drain(client: ClientAPI, worker_id: str) -> Worker:
    record: Any = client.drain_worker(worker_id)
    return _worker(record if record is not None else {"worker_id": worker_id})


@router.post("/workers/{worker_id}/drain", status_code=202, response_model=Worker,
             responses=problems(404, 409),
             summary="Ask a worker to finish its work and stop; returns its record")
async def drain_worker(request: Request, worker_id: str = Depends(worker_path)) -> Worker:
    worker = await run(_drain, state(request).client, worker_id)
    worker.drain_requested = True
    return worker


@router.post("/workers/prune", response_model=PruneWorkersResponse, responses=problems(400),
             summary="Delete the records of workers silent for longer than retention_ms")
async def prune_workers(request: Request, body: PruneWorkersRequest) -> PruneWorkersResponse:
    pruned = await run(state(request).client.prune_workers, body.retention_ms)
    return PruneWorkersResponse(pruned=pruned)


@router.get("/unservable-work", response_model=List[Unservable],
            summary="Queued work that no live worker can run, oldest wait first")
async def list_unservable_work(request: Request) -> List[Unservable]:
    groups = await run(state(request).client.list_unservable_work)
    return [Unservable.model_validate(as_dict(g)) for g in groups]
