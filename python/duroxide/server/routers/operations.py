"""Operating failed and stuck work (docs/operations.md): suspend, resume, terminate, what an
instance waits on, and bulk actions."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from duroxide.client.api import ClientAPI
from duroxide.client.operations import BULK_ACTIONS, check_bulk_action, run_bulk
from duroxide.server.deps import instance_id_path, require_token, run, state
from duroxide.server.errors import problems

InstanceId = Depends(instance_id_path)
router = APIRouter(tags=["operations"], dependencies=[Depends(require_token)],
                   responses=problems(401, 403, 503))


class ReasonRequest(BaseModel):
    reason: Optional[str] = Field(default=None, max_length=4096)


class TerminateRequest(ReasonRequest):
    output: Any = Field(default=None, description="kept as the instance's output")
    recursive: bool = Field(default=True, description="also end running sub-orchestrations")


class ActionResponse(BaseModel):
    instance_id: str
    status: str = Field(description="the status after the action, as get_status shows it")


class BulkRequest(BaseModel):
    action: str = Field(description=" | ".join(BULK_ACTIONS))
    status: Optional[str] = None
    name: Optional[str] = None
    id_prefix: Optional[str] = None
    created_after_ms: Optional[int] = None
    created_before_ms: Optional[int] = None
    reason: Optional[str] = Field(default=None, max_length=4096)
    dry_run: bool = False


class BulkResponse(BaseModel):
    action: str
    matched: List[str]
    done: List[str]
    failed: List[List[str]] = Field(description="(instance id, error) pairs")
    dry_run: bool


def _act(client: ClientAPI, op: str, instance_id: str, body: ReasonRequest) -> ActionResponse:
    """ClientAPI.<op>(instance_id, **the request's fields), answered with the status after."""
    getattr(client, op)(instance_id, **body.model_dump())
    return ActionResponse(instance_id=instance_id, status=client.get_status(instance_id).status)


def _reason_action(verb: str, summary: str, doc: str) -> None:
    """Routes POST /v1/instances/{instance_id}/<verb> to ClientAPI.<verb>_instance(id,
    reason=...): suspend and resume take the same request and answer alike."""
    op = f"{verb}_instance"

    async def endpoint(request: Request, instance_id: str = InstanceId,
                       body: Optional[ReasonRequest] = None) -> ActionResponse:
        return await run(_act, state(request).client, op, instance_id, body or ReasonRequest())

    endpoint.__name__ = endpoint.__qualname__ = op
    endpoint.__doc__ = doc
    router.post(f"/v1/instances/{{instance_id}}/{verb}", response_model=ActionResponse,
                responses=problems(400, 404, 409), summary=summary)(endpoint)


_reason_action("suspend", "Suspend a running instance",
               "No new turn or activity of it starts; arrivals wait. 409 when it has ended.")
_reason_action("resume", "Resume a suspended instance", "409 when it is not suspended.")


@router.post("/v1/instances/{instance_id}/terminate", response_model=ActionResponse,
             responses=problems(400, 404, 409, 413), summary="End an instance at once")
async def terminate_instance(request: Request, instance_id: str = InstanceId,
                             body: Optional[TerminateRequest] = None) -> ActionResponse:
    """Status Terminated without running its code; recursive ends its running
    sub-orchestrations too. 409 when it has ended."""
    return await run(_act, state(request).client, "terminate_instance", instance_id,
                     body or TerminateRequest())


class RerunRequest(BaseModel):
    from_event_id: Optional[int] = Field(default=None, description="copy the events before it")
    new_instance_id: Optional[str] = None
    input: Any = None


def _rerun(client: ClientAPI, instance_id: str, body: RerunRequest) -> ActionResponse:
    new_id = client.rerun(instance_id, from_event_id=body.from_event_id,
                          new_instance_id=body.new_instance_id, input=body.input)
    return ActionResponse(instance_id=new_id, status=client.get_status(new_id).status)


@router.post("/v1/instances/{instance_id}/rerun", response_model=ActionResponse,
             status_code=201, responses=problems(400, 404, 409, 413),
             summary="Rerun an ended instance as a new one")
async def rerun(request: Request, instance_id: str = InstanceId,
                body: Optional[RerunRequest] = None) -> ActionResponse:
    """A new instance (its id in the answer) whose history is the source's before
    `from_event_id`, verified against the current code by its first turn."""
    return await run(_rerun, state(request).client, instance_id, body or RerunRequest())


def _pending(client: ClientAPI, instance_id: str) -> Dict[str, Any]:
    return client.get_pending(instance_id).to_json()


@router.get("/v1/instances/{instance_id}/pending", responses=problems(404),
            summary="What an instance waits on")
async def get_pending(request: Request, instance_id: str = InstanceId) -> Dict[str, Any]:
    """PendingWork: activities, timers, events, queues, requests, sub_orchestrations (and
    the buffered messages by kind), derived from history and queue rows when asked."""
    return await run(_pending, state(request).client, instance_id)  # type: ignore[no-any-return]


def _bulk(client: ClientAPI, body: BulkRequest) -> BulkResponse:
    check_bulk_action(body.action)
    result = run_bulk(client, body.action, status=body.status, name=body.name,
                      id_prefix=body.id_prefix, created_after_ms=body.created_after_ms,
                      created_before_ms=body.created_before_ms, reason=body.reason,
                      dry_run=body.dry_run)
    return BulkResponse(**result.to_json())


@router.post("/v1/bulk", response_model=BulkResponse, responses=problems(400),
             summary="Act on every instance matching a filter")
async def bulk(request: Request, body: BulkRequest) -> BulkResponse:
    """cancel, terminate, suspend, resume, rerun or delete every matching instance (dry_run:
    only list them). An unknown action is refused (400) before anything runs; instances that
    refuse are listed in `failed` and do not stop the others."""
    return await run(_bulk, state(request).client, body)  # type: ignore[no-any-return]
