"""Task graphs and capability routing: /v1/instances/{id}/graph (the DAG with each node's
status), /v1/task-cache (clear cached task results) and /v1/waiting-activities (work no live
worker's capabilities satisfy)."""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from duroxide.client.api import ClientAPI
from duroxide.client.validate import INT64_MAX
from duroxide.errors import NotFoundError
from duroxide.server import models
from duroxide.server.deps import instance_id_path, require_token, run, state
from duroxide.server.errors import problems

InstanceId = Depends(instance_id_path)  # the {instance_id} segment, decoded
router = APIRouter(prefix="/v1", tags=["graphs"], dependencies=[Depends(require_token)],
                   responses=problems(401, 403, 503))


class GraphNode(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    task: str
    status: str = Field(description="pending, running, completed, cached, failed or skipped")
    deps: List[int] = Field(default_factory=list)
    input: Optional[str] = None
    worker: Optional[str] = None
    attempts: int = 0
    start: Optional[int] = None
    end: Optional[int] = None
    error: Optional[str] = None
    traceback: Optional[str] = Field(default=None, description="a failed node's traceback, "
                                     "root cause first, duroxide's own frames last")


class TaskGraph(BaseModel):
    instance_id: str
    nodes: List[GraphNode]
    edges: List[Tuple[int, int]] = Field(description="(from node, to node)")


class CacheCleared(BaseModel):
    removed: int = Field(description="how many cached results were removed")


class WaitingActivity(BaseModel):
    """An unclaimed activity whose capability requirement no live worker satisfies."""

    instance_id: str
    execution_id: int
    activity_id: int
    name: str
    schema_: Any = Field(default=None, alias="schema", description="the JSON Schema required")
    schema_hash: str
    waiting_since_ms: int
    waiting_ms: int
    deadline_ms: int = Field(description="epoch ms when it fails for want of a worker; 0: never")

    model_config = ConfigDict(populate_by_name=True)


def _graph(client: ClientAPI, instance_id: str) -> TaskGraph:
    if client.get_status(instance_id).status == "NotFound":
        raise NotFoundError(f"Instance {instance_id} not found")
    view = client.get_graph(instance_id)
    if not view.get("nodes"):
        raise NotFoundError(f"Instance {instance_id} is not a task graph")
    return TaskGraph.model_validate(view)


@router.get("/instances/{instance_id}/graph", response_model=TaskGraph,
            responses=problems(404),
            summary="The task graph (DAG) of an instance with each node's status")
async def get_graph(request: Request,
                    instance_id: str = InstanceId) -> TaskGraph:
    return await run(_graph, state(request).client, instance_id)


@router.delete("/task-cache", response_model=CacheCleared, summary="Clear cached task results")
async def clear_task_cache(request: Request, task: Optional[str] = Query(
        None, min_length=1, max_length=models.NAME_MAX,
        description="only this task's results (default: all)")) -> CacheCleared:
    return CacheCleared(removed=await run(state(request).client.clear_task_cache, task))


@router.get("/waiting-activities", response_model=List[WaitingActivity],
            summary="Activities waiting for a worker whose capabilities match, oldest first")
async def list_waiting_activities(
        request: Request,
        min_wait_ms: int = Query(0, ge=0, le=INT64_MAX,
                                 description="only those waiting at least this long"),
        limit: int = Query(1000, ge=1, le=10_000)) -> List[WaitingActivity]:
    rows = await run(state(request).client.list_waiting_activities, min_wait_ms, limit)
    return [WaitingActivity.model_validate(dict(row)) for row in rows]
