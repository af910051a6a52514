"""The API's errors rendered as RFC 9457 problem details: `PROBLEMS` is the one table from
domain error (`api.domain.errors`) to status, title and type.

Every error response is `application/problem+json` with `type`, `title`, `status`, `detail`
and, where one input is at fault, `field` naming it (validation errors list all of them in
`errors`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.domain.errors import (
    Conflict,
    DomainError,
    Expired,
    FaultStillActive,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RateLimited,
    Unavailable,
)

PROBLEM_TYPE = "urn:estatewatch:problem:"
PROBLEM_MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True, slots=True)
class Problem:
    """How a domain error is answered: its status, title and type slug."""

    status: int
    title: str
    slug: str


PROBLEMS: dict[type[DomainError], Problem] = {
    InvalidInput: Problem(422, "Invalid input", "invalid-input"),
    NotAuthenticated: Problem(401, "Not authenticated", "not-authenticated"),
    Forbidden: Problem(403, "Forbidden", "forbidden"),
    NotFound: Problem(404, "Not found", "not-found"),
    Conflict: Problem(409, "Conflict", "conflict"),
    IllegalTransition: Problem(409, "Illegal transition", "illegal-transition"),
    FaultStillActive: Problem(409, "Fault still active", "fault-still-active"),
    Expired: Problem(410, "Gone", "gone"),
    RateLimited: Problem(429, "Too many requests", "too-many-requests"),
    Unavailable: Problem(503, "Service unavailable", "unavailable"),
}
"""Every domain error's problem response; a subclass without a row answers as its parent."""
INTERNAL = Problem(500, "Internal error", "internal")


def problem_of(error: DomainError) -> Problem:
    for kind in type(error).__mro__:
        found = PROBLEMS.get(kind)
        if found is not None:
            return found
    return INTERNAL


def _headers(error: DomainError) -> dict[str, str] | None:
    if isinstance(error, NotAuthenticated):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(error, RateLimited):
        return {"Retry-After": str(error.retry_after)}
    return None


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


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    answer = problem_of(exc)
    return problem(
        request,
        status=answer.status,
        title=answer.title,
        detail=exc.detail,
        slug=answer.slug,
        headers=_headers(exc),
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
        title=PROBLEMS[InvalidInput].title,
        detail=f"{first['field']}: {first['message']}",
        slug=PROBLEMS[InvalidInput].slug,
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
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
