"""/v1/messages, /v1/topics, /v1/requests, /v1/dead-letters, /v1/actors: messaging."""

from __future__ import annotations

import functools
from typing import Any, List, Optional

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from duroxide.client.validate import INT64_MAX
from duroxide.server import models
from duroxide.server.deps import require_token, run, state, topic_path
from duroxide.server.errors import problems
from duroxide.server.routers.workers import as_dict
from duroxide.server.settings import MAX_WAIT_TIMEOUT_MS

router = APIRouter(prefix="/v1", tags=["messaging"], dependencies=[Depends(require_token)],
                   responses=problems(401, 403, 503))

class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class SendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance_id: str = Field(min_length=1, max_length=models.ID_MAX)
    queue: str = Field(min_length=1, max_length=models.NAME_MAX)
    data: Any = None


class SendResponse(BaseModel):
    message_id: str


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: Any = None


class PublishResponse(BaseModel):
    topic: str
    seq: int


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance_id: str = Field(min_length=1, max_length=models.ID_MAX)
    operation: str = Field(min_length=1, max_length=models.NAME_MAX)
    data: Any = None
    timeout_ms: int = Field(default=30_000, ge=1, le=MAX_WAIT_TIMEOUT_MS)


class ReplyResponse(BaseModel):
    value: Any


class TopicInfo(_Open):
    topic: str
    subscribers: Any = None
    backlog: int = 0
    last_seq: int = 0


class DeadLetter(_Open):
    id: int
    instance_id: str
    queue: str
    data: Any = None
    reason: str


class PurgeResponse(BaseModel):
    purged: int


class ActorInfo(_Open):
    actor_type: str
    key: str
    instance_id: str
    status: str


@router.post("/messages", status_code=202, response_model=SendResponse,
             responses=problems(400, 413), summary="Send a message to an instance's queue")
async def send_message(request: Request, body: SendRequest) -> SendResponse:
    message_id = await run(state(request).client.send_message, body.instance_id, body.queue,
                           body.data)
    return SendResponse(message_id=str(message_id))


@router.post("/topics/{topic}/events", status_code=202, response_model=PublishResponse,
             responses=problems(400, 413), summary="Publish to a topic")
async def publish(request: Request, body: PublishRequest, topic: str = Depends(topic_path)
                  ) -> PublishResponse:
    seq = await run(state(request).client.publish_event, topic, body.data)
    return PublishResponse(topic=topic, seq=int(seq))


@router.get("/topics", response_model=List[TopicInfo], summary="Topics with their backlog")
async def list_topics(request: Request) -> List[TopicInfo]:
    topics = await run(state(request).client.list_topics)
    return [TopicInfo.model_validate(as_dict(t)) for t in topics]


@router.get("/topics/{topic}", response_model=TopicInfo, responses=problems(404),
            summary="A topic and its subscribers")
async def get_topic(request: Request, topic: str = Depends(topic_path)) -> TopicInfo:
    detail = await run(state(request).client.get_topic, topic)
    return TopicInfo.model_validate(as_dict(detail))


@router.post("/requests", response_model=ReplyResponse, responses=problems(400, 409, 504),
             summary="Send a request to an instance and wait for its reply")
async def send_request(request: Request, body: RequestBody) -> ReplyResponse:
    st = state(request)
    # Waits up to timeout_ms for the reply: counted with the long-polls, not the other calls.
    value = await anyio.to_thread.run_sync(
        functools.partial(st.client.request, body.instance_id, body.operation, body.data,
                          body.timeout_ms), limiter=st.wait_limiter)
    return ReplyResponse(value=value)


@router.get("/dead-letters", response_model=List[DeadLetter],
            summary="Undeliverable messages, oldest first")
async def list_dead_letters(request: Request, instance_id: Optional[str] = Query(None)
                            ) -> List[DeadLetter]:
    letters = await run(state(request).client.list_dead_letters, instance_id)
    return [DeadLetter.model_validate(as_dict(d)) for d in letters]


@router.post("/dead-letters/{letter_id}/redeliver", status_code=202,
             response_model=models.Accepted, responses=problems(404),
             summary="Move a dead letter back to its recipient's queue")
async def redeliver(request: Request, letter_id: int = Path(ge=0, le=INT64_MAX)
                    ) -> models.Accepted:
    await run(state(request).client.redeliver_dead_letter, letter_id)
    return models.Accepted(instance_id=str(letter_id))


@router.delete("/dead-letters", response_model=PurgeResponse,
               summary="Purge dead letters (all, or those matching every given filter)")
async def purge(request: Request,
                instance_id: Optional[str] = Query(None, description="meant for this instance"),
                before_ms: Optional[int] = Query(None, ge=0, le=INT64_MAX,
                                                 description="created before"),
                ids: Optional[List[int]] = Query(None, description="only these ids (repeat)")
                ) -> PurgeResponse:
    count = await run(state(request).client.purge_dead_letters, instance_id, before_ms, ids)
    return PurgeResponse(purged=int(count))


@router.get("/actors", response_model=List[ActorInfo], summary="Actor instances")
async def list_actors(request: Request, actor_type: Optional[str] = Query(None)
                      ) -> List[ActorInfo]:
    actors = await run(state(request).client.list_actors, actor_type)
    return [ActorInfo.model_validate(as_dict(a)) for a in actors]
