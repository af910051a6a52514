"""The API's errors, and their rendering as RFC 9457 problem details.

Every error response is `application/problem+json` with `type`, `title`, `status`, `detail`
and, where one input is at fault, `field` naming it (validation errors list all of them in
`errors`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from estatewatch.errors import EstateWatchError

PROBLEM_TYPE = "urn:estatewatch:problem:"
PROBLEM_MEDIA_TYPE = "application/problem+json"


class ApiError(EstateWatchError):
    """An error a client caused or should know about; becomes a problem response."""

    status = 500
    title = "Internal error"
    slug = "internal"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.headers = headers or {}
        self.extensions = extensions


class InvalidInput(ApiError):
    status, title, slug = 422, "Invalid input", "invalid-input"


class NotAuthenticated(ApiError):
    status, title, slug = 401, "Not authenticated", "not-authenticated"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(ApiError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(ApiError):
    status, title, slug = 409, "Conflict", "conflict"


class IllegalTransition(Conflict):
    title, slug = "Illegal transition", "illegal-transition"


class TooManyRequests(ApiError):
    status, title, slug = 429, "Too many requests", "too-many-requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class Unavailable(ApiError):
    status, title, slug = 503, "Service unavailable", "unavailable"


class Gone(ApiError):
    status, title, slug = 410, "Gone", "gone"


def problem(
    request: Request,
    *,
    status: int,
    title: str,
    detail: str,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE}{slug}" if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update({k: v for k, v in extensions.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _field(loc: tuple[int | str, ...]) -> tuple[str, str]:
    """('body', 'assignee') -> ('body', 'assignee'); ('query', 'severity', 0) -> (query,
    severity.0)."""
    where = str(loc[0]) if loc else "body"
    rest = [str(p) for p in loc[1:]]
    return where, ".".join(rest) or where


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return problem(
        request,
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        slug=exc.slug,
        headers=exc.headers,
        field=exc.field,
        **exc.extensions,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        where, field = _field(tuple(err["loc"]))
        if err.get("type") == "json_invalid":
            field = where  # the location is a character offset, not a field
        errors.append({"field": field, "in": where, "message": err["msg"]})
    first = errors[0] if errors else {"field": None, "message": "invalid request"}
    return problem(
        request,
        status=422,
        title=InvalidInput.title,
        detail=f"{first['field']}: {first['message']}",
        slug=InvalidInput.slug,
        field=first["field"],
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(
        request,
        status=exc.status_code,
        title=str(exc.detail) if exc.status_code < 500 else "Internal error",
        detail=str(exc.detail),
        headers=dict(exc.headers) if exc.headers else None,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
