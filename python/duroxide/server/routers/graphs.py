"""/v1/instances/{id}/graph: the DAG of a distributed task graph with each node's status.

Included when the Client has `get_graph` (the task-graphs feature).
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from duroxide.server import models
from duroxide.server.deps import require_token, run, state
from duroxide.server.errors import ApiError, problems

router = APIRouter(prefix="/v1/instances/{instance_id}", tags=["graphs"],
                   dependencies=[Depends(require_token)], responses=problems(401, 403, 503))


def available(client: Any) -> bool:
    return callable(getattr(client, "get_graph", None))


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


class TaskGraph(BaseModel):
    instance_id: str
    nodes: List[GraphNode]
    edges: List[Tuple[int, int]] = Field(description="(from node, to node)")


def _graph(client: Any, instance_id: str) -> TaskGraph:
    if client.get_status(instance_id).status == "NotFound":
        raise ApiError(404, f"Instance {instance_id} not found", error="NotFoundError",
                       slug="not-found")
    view = client.get_graph(instance_id)
    if not view.get("nodes"):
        raise ApiError(404, f"Instance {instance_id} is not a task graph", error="NotFoundError",
                       slug="not-a-graph")
    return TaskGraph.model_validate(view)


@router.get("/graph", response_model=TaskGraph, responses=problems(404),
            summary="The task graph (DAG) of an instance with each node's status")
async def get_graph(request: Request,
                    instance_id: str = Path(min_length=1, max_length=models.ID_MAX)) -> TaskGraph:
    return await run(_graph, state(request).client, instance_id)
