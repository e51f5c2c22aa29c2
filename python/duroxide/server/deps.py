"""Dependencies shared by the routers: the client, authentication, blocking calls and waits."""

from __future__ import annotations

import functools
import hmac
import time
from typing import Any, Callable, Optional, TypeVar

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from duroxide.server.errors import ApiError
from duroxide.server.settings import ServerSettings

T = TypeVar("T")

_bearer = HTTPBearer(auto_error=False, description="The token given to the server with "
                                                    "--token-file (only when it has one)")


class ServerState:
    """What the routers share: the client, the settings and the long-poll bookkeeping."""

    def __init__(self, client: Any, settings: ServerSettings):
        self.client = client
        self.settings = settings
        self.started = time.monotonic()
        self.active_waits = 0
        self.wait_limiter = anyio.CapacityLimiter(settings.max_concurrent_waits)


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


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs a blocking call (a store call releases the GIL) in a worker thread."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


class ClientGone(Exception):
    """The client of a long-poll disconnected; nobody is left to answer."""


async def long_poll(request: Request, attempt: Callable[[int], Optional[T]], timeout_ms: int,
                    timeout_error: Exception) -> T:
    """Calls `attempt(slice_ms)` (a blocking wait of at most slice_ms that returns None when
    nothing happened) until it returns a value or `timeout_ms` has passed.

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
