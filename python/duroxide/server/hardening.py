"""The HTTP edge's defences that are not about the API itself (docs/reliability.md, "HTTP
hardening"):

* `SecurityHeaders`: headers on every response (API, dashboard, Swagger UI, errors) that keep
  a browser from running or framing anything the server did not serve itself;
* `ReadTimeoutH11Protocol`: uvicorn's h11 protocol with a deadline for receiving each whole
  request (headers and body), so slow or half-sent requests cannot hold connections open;
* `uvicorn_config`: the uvicorn configuration `duroxide server` runs with.
"""

from __future__ import annotations

import asyncio
from typing import Any, List, Tuple

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

# Only this server's own origin: scripts, styles, fetches, fonts and images (plus data: images,
# which Swagger UI's stylesheet uses for its icons); no plugins, no <base> or form targets
# elsewhere, and no framing by anyone (frame-ancestors 'none', the modern X-Frame-Options).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: List[Tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]

# Seconds a client has to send one whole request (request line, headers and body) once the
# connection is open or the previous response was sent. Idle keep-alive connections are closed
# after DEFAULT_KEEP_ALIVE_S.
DEFAULT_REQUEST_READ_TIMEOUT_S = 5.0
DEFAULT_KEEP_ALIVE_S = 5


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response (replacing any the app set)."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.names = {name for name, _ in SECURITY_HEADERS}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in self.names]
                message = {**message, "headers": headers + SECURITY_HEADERS}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ReadTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a request read deadline.

    A timer starts when the connection opens and again after each response; when it fires
    before the client has sent its whole request (h11's view of the peer is not DONE), the
    connection is closed. A request that has fully arrived is never cut, however long the
    application takes to answer (long-polls wait up to their timeout_ms).
    """

    read_timeout_s = DEFAULT_REQUEST_READ_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_deadline: Any = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_read_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_deadline()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_read_deadline()

    def _arm_read_deadline(self) -> None:
        self._disarm_read_deadline()
        self._read_deadline = self.loop.call_later(self.read_timeout_s, self._read_timed_out)

    def _disarm_read_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED):
            return  # the request is in: the application is answering it
        self.transport.close()


def protocol_with_timeout(seconds: float) -> type:
    """ReadTimeoutH11Protocol with `seconds` as its read deadline."""
    return type("ReadTimeoutH11Protocol", (ReadTimeoutH11Protocol,), {"read_timeout_s": seconds})


def uvicorn_config(app: Any, host: str, port: int, *,
                   read_timeout_s: float = DEFAULT_REQUEST_READ_TIMEOUT_S,
                   **options: Any) -> Any:
    """The uvicorn.Config `duroxide server` runs with: the h11 protocol with the read
    deadline, idle keep-alive connections closed after DEFAULT_KEEP_ALIVE_S, no Server
    header. `options` are passed to uvicorn.Config."""
    import uvicorn

    options.setdefault("timeout_keep_alive", DEFAULT_KEEP_ALIVE_S)
    options.setdefault("server_header", False)
    return uvicorn.Config(app, host=host, port=port, http=protocol_with_timeout(read_timeout_s),
                          **options)
