"""/v1/schedules: durable cron and interval schedules (docs/schedules.md).

Every route calls one ClientAPI operation; ids are ~XX-escaped path segments like instance
ids. Errors are the client's: InvalidArgumentError 400, NotFoundError 404,
ScheduleAlreadyExistsError 409.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from duroxide.client.api import ClientAPI
from duroxide.client.schedules import ScheduleInfo
from duroxide.server.deps import id_path, require_token, run, state
from duroxide.server.errors import problems
from duroxide.server.models import record_model

router = APIRouter(prefix="/v1", tags=["schedules"], dependencies=[Depends(require_token)],
                   responses=problems(401, 403, 503))


schedule_path = id_path("schedule_id", "the schedule id")


# A schedule: its definition and firing state (ScheduleInfo.to_dict()).
Schedule = record_model(ScheduleInfo, "Schedule", {
    "overlap": "skip, buffer_one, allow_all, cancel_other",
    "next_fire_ms": "nominal time of the next run",
    "recent_instances": "newest first",
})


class CreateSchedule(BaseModel):
    """The arguments of create_schedule (checked by the client: a bad one is a 400)."""

    model_config = ConfigDict(extra="forbid")

    schedule_id: str
    orchestration: str
    input: Any = None
    cron: Any = None
    every_ms: Any = None
    version: Any = None
    timezone: Any = "UTC"
    overlap: Any = "skip"
    catchup_window_ms: Any = 60_000
    jitter_ms: Any = 0
    start_at_ms: Any = None
    end_at_ms: Any = None
    paused: Any = False
    note: Any = None


class PauseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Optional[str] = None


class BackfillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_ms: Any = Field(description="start of the window (epoch ms, inclusive)")
    end_ms: Any = Field(description="end of the window (epoch ms, exclusive)")


class Triggered(BaseModel):
    instance_id: str


class Backfilled(BaseModel):
    instance_ids: List[str]


def _out(info: ScheduleInfo) -> Dict[str, Any]:
    return info.to_dict()  # validated against Schedule by each route's response_model


@router.post("/schedules", status_code=201, response_model=Schedule,
             responses=problems(400, 409), summary="Create a schedule")
async def create_schedule(request: Request, body: CreateSchedule) -> Dict[str, Any]:
    args: Dict[str, Any] = body.model_dump()
    client: ClientAPI = state(request).client
    return _out(await run(client.create_schedule, args.pop("schedule_id"),
                          args.pop("orchestration"), args.pop("input"), **args))


@router.get("/schedules", response_model=List[Schedule],  # type: ignore[valid-type]
            summary="Every schedule, by id")  # (Schedule is built at run time)
async def list_schedules(request: Request) -> List[Dict[str, Any]]:
    return [_out(s) for s in await run(state(request).client.list_schedules)]


@router.get("/schedules/{schedule_id}", response_model=Schedule, responses=problems(404),
            summary="One schedule")
async def get_schedule(request: Request,
                       schedule_id: str = Depends(schedule_path)) -> Dict[str, Any]:
    return _out(await run(state(request).client.get_schedule, schedule_id))


@router.patch("/schedules/{schedule_id}", response_model=Schedule,
              responses=problems(400, 404),
              summary="Change options of a schedule (the create_schedule options)")
async def update_schedule(request: Request, fields: Dict[str, Any],
                          schedule_id: str = Depends(schedule_path)) -> Dict[str, Any]:
    return _out(await run(state(request).client.update_schedule, schedule_id, **fields))


@router.post("/schedules/{schedule_id}/pause", response_model=Schedule,
             responses=problems(404), summary="Stop a schedule from firing")
async def pause_schedule(request: Request, body: Optional[PauseRequest] = None,
                         schedule_id: str = Depends(schedule_path)) -> Dict[str, Any]:
    note = body.note if body is not None else None
    return _out(await run(state(request).client.pause_schedule, schedule_id, note))


@router.post("/schedules/{schedule_id}/resume", response_model=Schedule,
             responses=problems(404), summary="Resume a paused schedule from now on")
async def resume_schedule(request: Request,
                          schedule_id: str = Depends(schedule_path)) -> Dict[str, Any]:
    return _out(await run(state(request).client.resume_schedule, schedule_id))


@router.post("/schedules/{schedule_id}/trigger", response_model=Triggered,
             responses=problems(404), summary="Start one run now; returns its instance id")
async def trigger_schedule(request: Request,
                           schedule_id: str = Depends(schedule_path)) -> Triggered:
    return Triggered(instance_id=await run(state(request).client.trigger_schedule,
                                           schedule_id))


@router.post("/schedules/{schedule_id}/backfill", response_model=Backfilled,
             responses=problems(400, 404),
             summary="Start the runs of the occurrences in [start_ms, end_ms)")
async def backfill_schedule(request: Request, body: BackfillRequest,
                            schedule_id: str = Depends(schedule_path)) -> Backfilled:
    ids = await run(state(request).client.backfill_schedule, schedule_id, body.start_ms,
                    body.end_ms)
    return Backfilled(instance_ids=ids)


class Deleted(BaseModel):
    schedule_id: str = Field(description="the deleted schedule")


@router.delete("/schedules/{schedule_id}", response_model=Deleted, responses=problems(404),
               summary="Delete a schedule (its runs are not touched)")
async def delete_schedule(request: Request,
                          schedule_id: str = Depends(schedule_path)) -> Deleted:
    await run(state(request).client.delete_schedule, schedule_id)
    return Deleted(schedule_id=schedule_id)
