"""/v1/limits: named limits, enforced fleet-wide at claim time (docs/flow-control.md).

Every route calls one ClientAPI operation; names are ~XX-escaped path segments like instance
ids. Errors are the client's: InvalidArgumentError / InvalidTypeError 400, NotFoundError 404.
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from duroxide.client.api import ClientAPI
from duroxide.client.limits import Limit, LimitInfo
from duroxide.server.deps import id_path, require_token, run, state
from duroxide.server.errors import problems

router = APIRouter(prefix="/v1", tags=["limits"], dependencies=[Depends(require_token)],
                   responses=problems(401, 403, 503))


limit_path = id_path("name", "the limit name")


class LimitSettings(BaseModel):
    """The arguments of duroxide.Limit (checked by the client: a bad one is a 400)."""

    model_config = ConfigDict(extra="forbid")

    concurrency: Any = Field(default=None, description="at most this many in flight")
    rate_per_s: Any = Field(default=None, description="at most this many starts per second")
    burst: Any = Field(default=None, description="bucket size; default one second of rate")
    per_key: Any = Field(default=False, description="apply to each limit_key separately")


class LimitOut(BaseModel):
    """A limit with its load (LimitInfo.to_dict())."""

    name: str
    concurrency: Optional[int] = None
    rate_per_s: Optional[float] = None
    burst: Optional[float] = None
    per_key: bool = False
    in_flight: int = Field(default=0, description="tasks of the limit running now")
    waiting: int = Field(default=0, description="tasks of the limit queued")
    top_keys: List[Tuple[str, int, int]] = Field(
        default_factory=list, description="per_key: [key, in_flight, waiting], busiest first")
    created_at_ms: int = 0
    updated_at_ms: int = 0


def _out(info: LimitInfo) -> LimitOut:
    return LimitOut.model_validate(info.to_dict())


@router.get("/limits", response_model=List[LimitOut], summary="Every limit with its load")
async def list_limits(request: Request) -> List[LimitOut]:
    return [_out(i) for i in await run(state(request).client.list_limits)]


@router.get("/limits/{name}", response_model=LimitOut, responses=problems(404),
            summary="One limit with its load")
async def get_limit(request: Request, name: str = Depends(limit_path)) -> LimitOut:
    return _out(await run(state(request).client.get_limit, name))


@router.put("/limits/{name}", response_model=LimitOut, responses=problems(400),
            summary="Create or replace a limit")
async def set_limit(request: Request, body: LimitSettings,
                    name: str = Depends(limit_path)) -> LimitOut:
    client: ClientAPI = state(request).client
    limit = Limit.from_dict(body.model_dump())
    await run(client.set_limit, name, limit)
    return _out(await run(client.get_limit, name))


class Deleted(BaseModel):
    name: str = Field(description="the deleted limit")


@router.delete("/limits/{name}", response_model=Deleted, responses=problems(404),
               summary="Delete a limit (tasks naming it wait until it is defined again)")
async def delete_limit(request: Request, name: str = Depends(limit_path)) -> Deleted:
    await run(state(request).client.delete_limit, name)
    return Deleted(name=name)
