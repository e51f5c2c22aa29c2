"""Dependencies shared by the routers: the client, authentication, ids in paths, blocking
calls and waits."""

from __future__ import annotations

import functools
import hmac
import inspect
import time
from typing import Any, Awaitable, Callable, Optional, TypeVar

import anyio
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from duroxide._common import unquote_id
from duroxide.client.aio import AsyncClient
from duroxide.client.api import ClientAPI
from duroxide.client.native import Client
from duroxide.errors import InvalidArgumentError
from duroxide.server.errors import ApiError
from duroxide.server.models import ID_MAX, NAME_MAX
from duroxide.server.settings import ServerSettings

T = TypeVar("T")

_bearer = HTTPBearer(auto_error=False, description="The token given to the server with "
                                                    "--token-file (only when it has one)")


class ServerState:
    """What the routers share: the client, the settings and the long-poll bookkeeping."""

    def __init__(self, client: ClientAPI, settings: ServerSettings):
        self.client = client
        self.settings = settings
        self.started = time.monotonic()
        self.active_waits = 0
        self.wait_limiter = anyio.CapacityLimiter(settings.max_concurrent_waits)
        # On a store in this process, long-polls wait through an AsyncClient (its waiter
        # registry: no thread per waiting request); otherwise in a worker thread each.
        self.waits: Optional[AsyncClient] = (
            AsyncClient(client._provider) if isinstance(client, Client) else None)

    def close(self) -> None:
        if self.waits is not None:
            self.waits._waiters.close()


def state(request: Request) -> ServerState:
    value: ServerState = request.app.state.duroxide
    return value


async def require_token(request: Request,
                        credentials: Optional[HTTPAuthorizationCredentials] = Depends(_bearer)
                        ) -> None:
    """401 without a bearer token, 403 with a wrong one (compared in constant time).

    A coroutine on purpose: FastAPI runs plain-function dependencies in a worker thread.
    """
    token = state(request).settings.token
    if token is None:
        return
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "Missing bearer token: send 'Authorization: Bearer <token>'",
                       slug="unauthorized", headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
        raise ApiError(403, "Invalid bearer token", slug="forbidden")


# ---- ids in paths (docs/server.md, "Ids in URLs") --------------------------------------------

_ID_DOC = ("{what}: one path segment, every byte outside `A-Z a-z 0-9 - _ .` written `~XX` "
           "(e.g. `a/b` is `a~2Fb`, `..` is `~2E~2E`); plain ids are written as they are")


def _segment(value: str, what: str, limit: int) -> str:
    text = unquote_id(value)
    if not text or len(text) > limit:
        raise InvalidArgumentError(f"Invalid request: {what}: must be 1 to {limit} characters")
    return text


def id_path(param: str, what: str, limit: int = ID_MAX) -> Callable[..., str]:
    """The dependency that reads path parameter `param` (`what` it is, in the OpenAPI
    description) as an id segment and returns the id: 1 to `limit` characters once unescaped
    (its escaped form at most 3 bytes a character), else InvalidArgumentError (a 400)."""

    def dependency(**path: str) -> str:
        return _segment(path[param], param, limit)

    dependency.__signature__ = inspect.Signature([inspect.Parameter(  # type: ignore[attr-defined]
        param, inspect.Parameter.KEYWORD_ONLY, annotation=str, default=Path(
            min_length=1, max_length=3 * limit, description=_ID_DOC.format(what=what)))])
    return dependency


instance_id_path = id_path("instance_id", "the instance id")
key_path = id_path("key", "the KV key", 1024)
queue_path = id_path("queue", "the queue name", NAME_MAX)
topic_path = id_path("topic", "the topic", NAME_MAX)
worker_path = id_path("worker_id", "the worker's id or name")


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs a blocking call (a store call releases the GIL) in a worker thread."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


class ClientGone(Exception):
    """The client of a long-poll disconnected; nobody is left to answer."""


async def long_poll(request: Request, attempt: Callable[[int], Optional[T]], timeout_ms: int,
                    timeout_error: Exception,
                    wait: Optional[Callable[[AsyncClient, int], Awaitable[Optional[T]]]] = None
                    ) -> T:
    """Calls `attempt(slice_ms)` (a blocking wait of at most slice_ms that returns None when
    nothing happened) until it returns a value or `timeout_ms` has passed. With `wait` (the
    same wait as a coroutine of AsyncClient) and an in-process store, `wait(waits, slice_ms)`
    is awaited instead: no thread is held while the request waits.

    Between slices it checks whether the client disconnected, so an abandoned long-poll frees
    its thread within one slice. Raises `timeout_error` on timeout and ClientGone when the
    client left.
    """
    st = state(request)
    deadline = time.monotonic() + timeout_ms / 1000.0
    st.active_waits += 1
    try:
        while True:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            slice_ms = min(remaining_ms, st.settings.wait_slice_ms)
            if wait is not None and st.waits is not None:
                result = await wait(st.waits, slice_ms)
            else:
                result = await anyio.to_thread.run_sync(
                    functools.partial(attempt, slice_ms), limiter=st.wait_limiter)
            if result is not None:
                return result
            if time.monotonic() >= deadline:
                raise timeout_error
            if await request.is_disconnected():
                raise ClientGone()
    finally:
        st.active_waits -= 1
