"""/v1/instances/{id}/events and /queues: external events and event-queue messages."""

from __future__ import annotations

from typing import Any, Optional

from fastapi import APIRouter, Depends, Request

from duroxide.client.api import ClientAPI
from duroxide.client.operations import unheard_event_warning
from duroxide.errors import FailedPreconditionError, NotFoundError
from duroxide.server import models
from duroxide.server.deps import instance_id_path, queue_path, require_token, run, state
from duroxide.server.errors import problems

InstanceId = Depends(instance_id_path)  # the {instance_id} segment, decoded
router = APIRouter(prefix="/v1/instances/{instance_id}", tags=["events"],
                   dependencies=[Depends(require_token)], responses=problems(401, 403, 503))


def _require_running(client: ClientAPI, instance_id: str, what: str) -> None:
    """404 for an unknown instance, 409 for one that has ended (the message would be lost)."""
    result = client.get_status(instance_id)
    if result.status == "NotFound":
        raise NotFoundError(f"Instance {instance_id} not found")
    if result.status in ("Completed", "Failed", "Terminated"):
        raise FailedPreconditionError(
            f"Instance {instance_id} is {result.status}; the {what} would be dropped")


def _raise(client: ClientAPI, instance_id: str, name: str, data: Any) -> Optional[str]:
    """Raises the event; returns the warning when nothing waits for it (operations.py)."""
    _require_running(client, instance_id, "event")
    # Read before raising: afterwards a runtime may already have consumed it.
    try:
        warning = unheard_event_warning(client.get_pending(instance_id), name)
    except NotFoundError:
        warning = None  # its start is still queued: nothing to compare with yet
    client.raise_event(instance_id, name, data)
    return warning


def _enqueue(client: ClientAPI, instance_id: str, queue: str, data: Any) -> None:
    _require_running(client, instance_id, "message")
    client.enqueue_event(instance_id, queue, data)


@router.post("/events", status_code=202, response_model=models.Accepted,
             response_model_exclude_none=True,
             responses=problems(400, 404, 409, 413), summary="Raise an external event")
async def raise_event(request: Request, body: models.RaiseEventRequest,
                      instance_id: str = InstanceId) -> models.Accepted:
    """Received by the orchestration's `wait_for_event(name)`."""
    warning = await run(_raise, state(request).client, instance_id, body.name, body.data)
    return models.Accepted(instance_id=instance_id, warning=warning)


@router.post("/queues/{queue}", status_code=202, response_model=models.Accepted,
             responses=problems(400, 404, 409, 413), summary="Append a message to an event queue")
async def enqueue_event(request: Request, body: models.EnqueueRequest,
                        instance_id: str = InstanceId,
                        queue: str = Depends(queue_path)) -> models.Accepted:
    """Received in order by the orchestration's `dequeue_event(queue)`."""
    await run(_enqueue, state(request).client, instance_id, queue, body.data)
    return models.Accepted(instance_id=instance_id)
