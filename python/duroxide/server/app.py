"""The app factory: `create_app(store, settings)` builds the whole server.

The REST layer is a client of the public Python API: every endpoint calls ClientAPI methods
(in a worker thread, the core releases the GIL), never the store directly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import urllib.parse
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional, Union

import anyio
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import duroxide
from duroxide._providers import open_provider
from duroxide.client.api import ClientAPI
from duroxide.errors import InvalidArgumentError, InvalidTypeError
from duroxide.server import dashboard, errors
from duroxide.server.deps import ServerState
from duroxide.server.hardening import SecurityHeaders, uvicorn_config
from duroxide.server.routers import (
    events,
    graphs,
    health,
    instances,
    limits,
    messaging,
    metrics,
    operations,
    schedules,
    workers,
)
from duroxide.server.settings import ServerSettings, is_loopback

STATIC_DIR = Path(__file__).resolve().parent / "static"

DESCRIPTION = """The duroxide REST API: start, inspect and manage orchestration instances.

Errors are RFC 9457 problem documents (`application/problem+json`). When the server has a
token, every `/v1` endpoint except health needs `Authorization: Bearer <token>`.
"""


def swagger_ui_dir() -> Optional[Path]:
    """The Swagger UI assets shipped by the swagger-ui-bundle package (the newest version)."""
    try:
        bundle = importlib.import_module("swagger_ui_bundle")
    except ImportError:
        return None
    if bundle.__file__ is None:
        return None
    vendor = Path(bundle.__file__).resolve().parent / "vendor"
    found = sorted(vendor.glob("swagger-ui-*"),
                   key=lambda p: [int(x) for x in p.name.split("-")[-1].split(".") if x.isdigit()])
    return found[-1] if found else None


class BodyLimit:
    """Refuses request bodies larger than `limit` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(scope, receive, send)
            return
        chunks: List[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its body
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._too_large(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = errors.error_response(
            Request(scope),
            InvalidArgumentError(f"Request body exceeds the limit of {self.limit} bytes"),
            status=413, headers={"Connection": "close"})
        await response(scope, receive, send)


class BrowserGuard:
    """Keeps web pages elsewhere from driving the API through a user's browser.

    - Without a token the server is for this machine only, so a browser request (one with
      Origin or Sec-Fetch-Site) whose Host header is not a loopback name is refused (DNS
      rebinding: a page on evil.example re-resolved to 127.0.0.1). Other clients can reach
      loopback directly anyway and are not checked.
    - A state-changing request (POST, PUT, PATCH, DELETE) whose Origin is neither this server
      nor a configured CORS origin is refused (cross-site request forgery; browsers send
      Origin on such requests, other clients send none).
    """

    def __init__(self, app: ASGIApp, settings: ServerSettings):
        self.app = app
        self.check_host = settings.token is None
        self.origins = set(settings.cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            host = headers.get("host", "")
            problem = None
            browser = "origin" in headers or "sec-fetch-site" in headers
            if self.check_host and browser and host and not is_loopback(_host_name(host)):
                problem = (f"Host '{host}' is not allowed: without a token this server only "
                           "answers requests addressed to a loopback name")
            origin = headers.get("origin")
            if (problem is None and origin and scope["method"] in ("POST", "PUT", "PATCH", "DELETE")
                    and origin not in self.origins
                    and urllib.parse.urlsplit(origin).netloc != host):
                problem = f"Cross-origin request from {origin} refused"
            if problem is not None:
                response = errors.problem_response(Request(scope), 403, problem,
                                                   slug="forbidden")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class EncodedSlashes:
    """Routes a `/v1` path by its segments as sent when one holds a percent-encoded slash.

    The server decodes `a%2Fb` to `a/b` before routing, which would split one id into two
    segments. For such a request the path is rebuilt from the raw one, segment by segment,
    with each decoded `/` written `~2F` (the id escape of docs/server.md, which the id
    parameters undo), so `GET /v1/instances/a%2Fb/status` reads instance `a/b` too.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw and b"%2f" in raw.lower() and scope["path"].startswith("/v1/"):
            segments = raw.split(b"?", 1)[0].decode("latin-1").split("/")
            path = "/".join(urllib.parse.unquote(s).replace("/", "~2F") for s in segments)
            scope = {**scope, "path": path}
        await self.app(scope, receive, send)


def _host_name(host: str) -> str:
    """The name part of a Host header ("[::1]:8200" -> "::1", "localhost:8200" -> "localhost")."""
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def open_store(db: str, schema: Optional[str] = None) -> ClientAPI:
    """A Client on `db` (a SQLite path or sqlite: URL, created if missing, or a PostgreSQL URL).

    Raises:
        ValueError: --schema given for SQLite, or PostgreSQL missing from this build.
        RuntimeError: the store cannot be opened.
    """
    return duroxide.Client(open_provider(db, schema))


def _as_client(store: Union[str, Any], schema: Optional[str]) -> ClientAPI:
    if isinstance(store, str):
        return open_store(store, schema)
    if hasattr(store, "get_status"):  # a ClientAPI (a Client, an HttpClient, a wrapper)
        client: ClientAPI = store
        return client
    if hasattr(store, "_native"):  # a provider
        return duroxide.Client(store)
    raise InvalidTypeError(
        f"create_app: store must be a Client, a provider or a database URL/path, "
        f"not {type(store).__name__}")


def create_app(store: Union[str, Any], settings: Optional[ServerSettings] = None, *,
               schema: Optional[str] = None, **options: Any) -> FastAPI:
    """Builds the server app.

    Args:
        store: a ClientAPI (a duroxide.Client, or any implementation), a provider, or a
            database path/URL (as `--db` takes).
        settings: ServerSettings (defaults: loopback, no token, 1 MiB bodies, no CORS).
        schema: the PostgreSQL schema when `store` is a URL.
        options: ServerSettings fields, instead of (or overriding) `settings`, e.g.
            `create_app(client, token="...")`.

    Raises:
        ValueError: settings the server must refuse (a non-loopback host without a token).
    """
    settings = settings or ServerSettings()
    if options:
        settings = dataclasses.replace(settings, **options)
    settings.validate()
    st = ServerState(_as_client(store, schema), settings)
    sampler = metrics.MetricsSampler(st)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sampler.run)
            yield
            tasks.cancel_scope.cancel()
        st.close()

    app = FastAPI(title="duroxide", version=duroxide.__version__, description=DESCRIPTION,
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.duroxide = st
    app.state.sampler = sampler
    errors.install_handlers(app)
    for module in (health, instances, operations, events, metrics, messaging, workers,
                   graphs, schedules, limits):
        app.include_router(module.router)
    app.include_router(metrics.exposition_router)
    _add_docs(app)
    _problem_openapi(app)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(BrowserGuard, settings=settings)
    app.add_middleware(EncodedSlashes)
    app.add_middleware(SecurityHeaders)  # outermost: every response, errors included
    dashboard.install(app)  # the pages; the static files below serve their scripts and styles
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")
    return app


def _problem_openapi(app: FastAPI) -> None:
    """The OpenAPI document says what the API does: bad input is a 400 problem document (the
    handler in errors.py), never FastAPI's default 422 validation response."""
    build = app.openapi

    def openapi() -> Dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        problem = errors.problems(400)[400]
        for path_item in spec.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.get("responses", {})
                for status, response in responses.items():
                    content = response.get("content", {})
                    if status[0] in "45" and "application/json" in content:
                        content[errors.PROBLEM_MEDIA_TYPE] = content.pop("application/json")
                if responses.pop("422", None) is not None and "400" not in responses:
                    responses["400"] = {
                        "description": problem["description"],
                        "content": {errors.PROBLEM_MEDIA_TYPE: {
                            "schema": {"$ref": "#/components/schemas/Problem"}}}}
        for path, path_item in spec.get("paths", {}).items():
            for method, operation in path_item.items():
                _document_statuses(path, method, operation)
        schemas = spec.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


# Swagger UI's page: assets served by this server, started by /swagger-init.js (no inline
# script, which the Content-Security-Policy would refuse).
SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>duroxide API</title>
  <link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
  <link rel="icon" type="image/png" href="/static/swagger-ui/favicon-32x32.png">
  <script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/swagger-init.js"></script>
</head>
<body><div id="swagger-ui"></div></body>
</html>
"""


def _document_statuses(path: str, method: str, operation: Dict[str, Any]) -> None:
    """Adds to `operation` every status the server can answer it with, besides the ones its
    route declares: any /v1 call can meet bad input (400), a bug (500) or an unavailable
    store (503), and needs the token (401/403, except health); a write can conflict (409:
    e.g. a read-only store) and carries a body (413); a path with an id can name nothing
    (404); a call with timeout_ms can time out (504)."""
    if not path.startswith("/v1/"):
        return
    statuses = [400, 500, 503]
    if path != "/v1/health":
        statuses += [401, 403]
    if method in ("post", "put", "patch", "delete"):
        statuses += [409, 413]
    if "{" in path or path == "/v1/requests":
        statuses.append(404)
    names = {p.get("name") for p in operation.get("parameters", [])}
    if "timeout_ms" in names or path == "/v1/requests":
        statuses.append(504)
    responses = operation.setdefault("responses", {})
    for status, doc in errors.problems(*statuses).items():
        if str(status) not in responses:
            responses[str(status)] = {
                "description": doc["description"],
                "content": {errors.PROBLEM_MEDIA_TYPE: {
                    "schema": {"$ref": "#/components/schemas/Problem"}}}}


def _add_docs(app: FastAPI) -> None:
    assets = swagger_ui_dir()
    if assets is not None:
        app.mount("/static/swagger-ui", StaticFiles(directory=assets), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        if assets is None:
            return HTMLResponse("<h1>Swagger UI is not installed</h1><p>Install it with "
                                "<code>pip install duroxide[server]</code>; the API description "
                                "is at <a href='/openapi.json'>/openapi.json</a>.</p>", 503)
        return HTMLResponse(SWAGGER_PAGE)

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def oauth2_redirect() -> JSONResponse:
        return JSONResponse({})


def serve(store: Union[str, Any], settings: ServerSettings, *,
          schema: Optional[str] = None, log_level: str = "info") -> None:
    """Runs the server with uvicorn until interrupted (what `duroxide server` does)."""
    import uvicorn

    app = create_app(store, settings, schema=schema)
    config = uvicorn_config(app, settings.host, settings.port,
                            read_timeout_s=settings.request_read_timeout_s, log_level=log_level,
                            proxy_headers=bool(os.environ.get("DUROXIDE_PROXY_HEADERS")))
    uvicorn.Server(config).run()
