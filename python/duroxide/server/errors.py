"""RFC 9457 problem documents: the one place where errors become HTTP responses.

Every error response of the API is `application/problem+json` with `type`, `title`, `status`,
`detail` and `instance` (the request path), plus two extension members:

- `error`: the name of the duroxide exception class;
- `errors`: for bad input, one `{location, field, message}` per rejected field.

`type` is `urn:duroxide:problem:<code>` with the `code` of the duroxide exception class
(duroxide.errors), from which HttpClient raises that same class; the HTTP status comes from
the class too (`_STATUS`, the nearest listed class in its MRO). Problems of the HTTP layer
itself (unauthorized, forbidden, no-such-endpoint) have types of their own and no class.
No status or type depends on message text; the only look at text is to keep a native
binding's argument conversion error (C++ signatures, object addresses) out of `detail`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Dict, List, Optional, Tuple, Type, Union

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from duroxide import errors as dx
from duroxide.client.transport import PROBLEM_TYPE_PREFIX
from duroxide.client.validate import PYBIND_MARKERS

PROBLEM_MEDIA_TYPE = "application/problem+json"

# The HTTP status of each error class (a class not listed takes its nearest base's).
_STATUS: Dict[Type[BaseException], int] = {
    dx.DuroxideError: 500,
    dx.NotFoundError: 404,
    dx.InstanceAlreadyExistsError: 409,
    dx.ScheduleAlreadyExistsError: 409,
    dx.FailedPreconditionError: 409,
    dx.RuntimeStateError: 409,
    dx.RequestFailedError: 409,
    dx.RequestTargetNotFoundError: 404,
    dx.InvalidArgumentError: 400,
    dx.InvalidTypeError: 400,
    dx.LintError: 400,
    dx.OperationTimedOutError: 504,
    dx.RequestTimedOutError: 504,
    dx.ProviderError: 503,
    dx.ClosedError: 503,
}
# Exceptions from outside the hierarchy that reach the handler, as the class they stand for.
_FOREIGN: Tuple[Tuple[Type[BaseException], Type[dx.DuroxideError]], ...] = (
    (TimeoutError, dx.OperationTimedOutError),
    (ValueError, dx.InvalidArgumentError),
    (TypeError, dx.InvalidTypeError),
)


class FieldError(BaseModel):
    """One rejected part of a request."""

    location: str = Field(description="body, query, path or header")
    field: str = Field(description="the field's dotted path, e.g. `input` or `filter.limit`")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="`urn:duroxide:problem:<code>`: the `code` of the duroxide "
                                  "exception class (HttpClient raises that class), or a "
                                  "problem of the HTTP layer: unauthorized, forbidden, "
                                  "no-such-endpoint, method-not-allowed")
    title: str
    status: int
    detail: str
    instance: Optional[str] = Field(default=None, description="the request path")
    error: Optional[str] = Field(default=None,
                                 description="the name of the duroxide exception class")
    errors: Optional[List[FieldError]] = None


class ApiError(Exception):
    """A problem of the HTTP layer itself (authentication): no duroxide exception class stands
    for it, so HttpClient raises a plain DuroxideError."""

    def __init__(self, status: int, detail: str, *, slug: str,
                 headers: Optional[Dict[str, str]] = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.headers = headers


def problem_response(request: Optional[Request], status: int, detail: str, *,
                     slug: str, error: Optional[str] = None,
                     errors: Optional[List[FieldError]] = None,
                     headers: Optional[Dict[str, str]] = None) -> JSONResponse:
    """A problem+json response of type urn:duroxide:problem:<slug>."""
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = Problem(type=PROBLEM_TYPE_PREFIX + slug, title=title, status=status, detail=detail,
                   instance=None if request is None else request.url.path, error=error,
                   errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status,
                        media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def error_response(request: Optional[Request], exc: dx.DuroxideError, *,
                   status: Optional[int] = None, errors: Optional[List[FieldError]] = None,
                   headers: Optional[Dict[str, str]] = None) -> JSONResponse:
    """The problem document of a duroxide exception: its class's code, name and status."""
    return problem_response(request, status or status_of(type(exc)), str(exc), slug=exc.code,
                            error=type(exc).__name__, errors=errors, headers=headers)


def status_of(cls: Type[BaseException]) -> int:
    """The HTTP status of an error class (its nearest listed base's)."""
    return next(_STATUS[c] for c in cls.__mro__ if c in _STATUS)


def as_duroxide_error(exc: BaseException) -> dx.DuroxideError:
    """`exc` itself if it is a DuroxideError, else the class it stands for (unknown: an
    internal error, 500)."""
    if isinstance(exc, dx.DuroxideError):
        return exc
    if isinstance(exc, TypeError) and any(m in str(exc) for m in PYBIND_MARKERS):
        # The native binding's conversion error prints C++ signatures and object addresses:
        # never shown (the client's own checks name the parameter before this can happen).
        return dx.InvalidTypeError("Invalid request: an argument has a type or value the "
                                   "operation does not accept")
    for foreign, cls in _FOREIGN:
        if isinstance(exc, foreign):
            return cls.from_message(str(exc))
    return dx.DuroxideError(f"Internal error: {type(exc).__name__}: {exc}")


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
    return error_response(request, dx.InvalidArgumentError(f"Invalid request: {detail}"),
                          errors=errors)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No such endpoint: {request.method} {request.url.path}"
    slug = {404: "no-such-endpoint", 405: "method-not-allowed"}.get(exc.status_code, "http")
    headers: Any = getattr(exc, "headers", None)
    return problem_response(request, exc.status_code, detail, slug=slug, headers=headers)


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return problem_response(request, exc.status, exc.detail, slug=exc.slug,
                            headers=exc.headers)


async def _on_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(request, as_duroxide_error(exc))


def install_handlers(app: FastAPI) -> None:
    """Registers the handlers that turn every error into a problem document."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(ApiError, _on_api_error)
    for cls in (dx.DuroxideError, TimeoutError, ValueError, TypeError, Exception):
        app.add_exception_handler(cls, _on_error)


def problems(*statuses: int) -> Dict[Union[int, str], Dict[str, Any]]:
    """OpenAPI `responses` documenting the problem documents an endpoint can return."""
    descriptions = {
        400: "Bad input (invalid-argument); `errors` names each rejected field",
        401: "No bearer token (unauthorized)",
        403: "Wrong bearer token (forbidden)",
        404: "Unknown instance or item (not-found)",
        409: "Conflict: already-exists, or failed-precondition (e.g. still running, ended, "
             "a stopped worker, a read-only store)",
        413: "Request body too large (invalid-argument)",
        500: "Internal error (error): a bug; the detail names the exception",
        503: "The store is unavailable (provider-error) or closed (closed)",
        504: "The wait timed out (timeout, request-timeout)",
    }
    return {
        status: {"model": Problem, "description": descriptions.get(status, "Error"),
                 "content": {PROBLEM_MEDIA_TYPE: {}}}
        for status in statuses
    }
