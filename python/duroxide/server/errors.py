"""RFC 9457 problem documents: the one place where errors become HTTP responses.

Every error response of the API is `application/problem+json` with `type`, `title`, `status`,
`detail` and `instance` (the request path), plus two extension members:

- `error`: the name of the duroxide exception class (or `TimeoutError`), so that HttpClient
  raises the same exception as Client;
- `errors`: for bad input, one `{location, field, message}` per rejected field.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Dict, List, Optional, Tuple, Union

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

import duroxide

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:duroxide:problem:"


class FieldError(BaseModel):
    """One rejected part of a request."""

    location: str = Field(description="body, query, path or header")
    field: str = Field(description="the field's dotted path, e.g. `input` or `filter.limit`")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="a URN naming the kind of problem")
    title: str
    status: int
    detail: str
    instance: Optional[str] = Field(default=None, description="the request path")
    error: Optional[str] = Field(
        default=None, description="the duroxide exception class (HttpClient raises it)")
    errors: Optional[List[FieldError]] = None


class ApiError(Exception):
    """An error raised by the routers themselves (not by the duroxide API)."""

    def __init__(self, status: int, detail: str, *, error: Optional[str] = None,
                 slug: Optional[str] = None, headers: Optional[Dict[str, str]] = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.error = error
        self.slug = slug
        self.headers = headers


def problem_response(request: Optional[Request], status: int, detail: str, *,
                     error: Optional[str] = None, slug: Optional[str] = None,
                     errors: Optional[List[FieldError]] = None,
                     headers: Optional[Dict[str, str]] = None) -> JSONResponse:
    """A problem+json response."""
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = Problem(
        type=_TYPE_PREFIX + (slug or title.lower().replace(" ", "-")),
        title=title,
        status=status,
        detail=detail,
        instance=None if request is None else request.url.path,
        error=error,
        errors=errors,
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status,
                        media_type=PROBLEM_MEDIA_TYPE, headers=headers)


# ProviderError messages that mean "not now, because of the instance's state" (409).
_CONFLICT_MARKERS = ("still running", "Cannot delete sub-orchestration")


def classify(exc: BaseException) -> Tuple[int, str, str]:
    """The (status, slug, error class name) of an exception raised by the duroxide API.

    The class name is the exception's own when duroxide exports it (HttpClient raises it).
    """
    status, slug, name = _classify(exc)
    own = type(exc).__name__
    if own != name and isinstance(getattr(duroxide, own, None), type):
        name = own
    return status, slug, name


def _classify(exc: BaseException) -> Tuple[int, str, str]:
    if isinstance(exc, duroxide.NotFoundError):
        return 404, "not-found", "NotFoundError"
    if isinstance(exc, duroxide.InstanceAlreadyExistsError):
        return 409, "already-exists", "InstanceAlreadyExistsError"
    if isinstance(exc, duroxide.OperationTimedOutError):
        return 504, "timeout", "OperationTimedOutError"
    if isinstance(exc, duroxide.InvalidArgumentError):
        return 400, "invalid-argument", "InvalidArgumentError"
    if isinstance(exc, duroxide.ProviderError):
        if any(marker in str(exc) for marker in _CONFLICT_MARKERS):
            return 409, "conflict", "ProviderError"
        return 503, "store-unavailable", "ProviderError"
    failed = getattr(duroxide, "RequestFailedError", None)
    if failed is not None and isinstance(exc, failed):
        return 409, "request-failed", "RequestFailedError"
    if isinstance(exc, duroxide.ClosedError):
        return 503, "closed", "ClosedError"
    if isinstance(exc, duroxide.DuroxideError):
        return 500, "internal", "DuroxideError"
    if isinstance(exc, TimeoutError):
        return 504, "timeout", "TimeoutError"
    if isinstance(exc, (ValueError, TypeError)):
        return 400, "invalid-argument", "InvalidArgumentError"
    return 500, "internal", "DuroxideError"


def _field_errors(exc: RequestValidationError) -> List[FieldError]:
    out: List[FieldError] = []
    for item in exc.errors():
        loc = [str(part) for part in item.get("loc", ())]
        location = loc[0] if loc else "body"
        field = ".".join(loc[1:]) or location
        if item.get("type") == "json_invalid":
            field = "body"
        out.append(FieldError(location=location, field=field, message=str(item.get("msg", ""))))
    return out


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or "invalid request"
    return problem_response(request, 400, f"Invalid request: {detail}",
                            error="InvalidArgumentError", slug="invalid-request", errors=errors)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = "not-found" if exc.status_code == 404 else None
    detail = str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No such endpoint: {request.method} {request.url.path}"
    headers: Any = getattr(exc, "headers", None)
    return problem_response(request, exc.status_code, detail, slug=slug,
                            error="NotFoundError" if exc.status_code == 404 else None,
                            headers=headers)


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return problem_response(request, exc.status, exc.detail, error=exc.error, slug=exc.slug,
                            headers=exc.headers)


async def _on_error(request: Request, exc: Exception) -> JSONResponse:
    status, slug, error = classify(exc)
    detail = str(exc) if status != 500 else f"Internal error: {type(exc).__name__}: {exc}"
    return problem_response(request, status, detail, error=error, slug=slug)


def install_handlers(app: FastAPI) -> None:
    """Registers the handlers that turn every error into a problem document."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(ApiError, _on_api_error)
    for cls in (duroxide.DuroxideError, TimeoutError, ValueError, TypeError, Exception):
        app.add_exception_handler(cls, _on_error)


def problems(*statuses: int) -> Dict[Union[int, str], Dict[str, Any]]:
    """OpenAPI `responses` documenting the problem documents an endpoint can return."""
    descriptions = {
        400: "Bad input; `errors` names each rejected field",
        401: "No bearer token",
        403: "Wrong bearer token",
        404: "Unknown instance (or item)",
        409: "Conflict: already exists, or still running",
        413: "Request body too large",
        503: "The store is unavailable",
        504: "The wait timed out",
    }
    return {
        status: {"model": Problem, "description": descriptions.get(status, "Error"),
                 "content": {PROBLEM_MEDIA_TYPE: {}}}
        for status in statuses
    }
