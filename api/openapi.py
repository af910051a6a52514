"""An OpenAPI document that says what the API sends, and `Allow` headers that name every method
a path has.

FastAPI documents 200 and 422 (as `application/json`). The API also answers, as
`application/problem+json` (`api.errors`): 401 and 403 wherever a sign-in is needed, 404 on a
path with an id, 409 on a change, 429 on sign-in, 410 on a stream or feed resumed too late,
503 where stored readings are read; its 422 is a problem too; an export with `format=csv`
answers `text/csv`. `document_responses` adds those to the generated document, so a
schema-driven client or fuzzer meets no status or media type the document does not list.

FastAPI registers one route per method, so Starlette's 405 lists only the methods of the
route it happened to match, and OPTIONS is a 405 too. `AllowHeaders` answers OPTIONS with
204 and both with the union of the methods of every route of the path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; `field` names the input at fault",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "in": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}
_REF = {"$ref": "#/components/schemas/Problem"}
_CHANGES = {"post", "put", "patch", "delete"}
_METHODS = {"get", "put", "post", "delete", "patch", "head"}
_READINGS = ("/readings", "/operation-log", "/record", "/points", "/latest")
_WHY = {
    400: "Bad request",
    401: "Not signed in, or the token ran out",
    403: "The role may not do this",
    404: "No such object",
    405: "Method not allowed",
    409: "Conflicts with the object's state",
    410: "Resumed too late: reload",
    422: "Invalid input: `field` names it",
    429: "Too many attempts: wait `Retry-After` seconds",
    503: "The readings store is not configured or not reachable",
}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    # Any operation may name something that is not there: an id in the path, a site or a
    # device in the query or the body.
    found = {404, 422}
    if operation.get("security") or not path.startswith("/auth/"):
        found |= {401, 403}
    if method in _CHANGES:
        found |= {400, 409}
    if path.startswith("/auth/"):
        found |= {401, 429}
    if "stream" in path or "feed" in path:
        found.add(410)
    if any(part in path for part in _READINGS) or path.startswith("/devices"):
        found.add(503)
    return found


def _document(schema: dict[str, Any]) -> dict[str, Any]:
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in sorted(_statuses(path, method, operation)):
                answer = responses.setdefault(str(status), {"description": _WHY[status]})
                answer["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _REF}}
            names = {p.get("name") for p in operation.get("parameters", [])}
            if "format" in names and "200" in responses:
                content = responses["200"].setdefault("content", {})
                content["text/csv"] = {"schema": {"type": "string"}}
    return schema


def document_responses(app: FastAPI) -> None:
    """Make `app.openapi()` list every status and media type the API answers."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class AllowHeaders:
    """ASGI middleware: OPTIONS → 204, and every 405's `Allow`, with all the path's methods
    (read from the OpenAPI document: FastAPI keeps its routes in nested routers)."""

    def __init__(self, app: ASGIApp, document: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self.document = document
        self._paths: list[tuple[re.Pattern[str], set[str]]] | None = None

    def _allowed(self, path: str) -> set[str]:
        if self._paths is None:
            self._paths = [
                (
                    re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"),
                    {m.upper() for m in item if m.lower() in _METHODS},
                )
                for template, item in self.document().get("paths", {}).items()
            ]
        methods: set[str] = set()
        for pattern, found in self._paths:
            if pattern.match(path):
                methods |= found
        if "GET" in methods:
            methods.add("HEAD")
        return methods | {"OPTIONS"} if methods else methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if scope["method"] == "OPTIONS":
            allowed = self._allowed(path)
            if allowed:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 204,
                        "headers": [(b"allow", ", ".join(sorted(allowed)).encode())],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = self._allowed(path)
                if allowed:
                    headers = [
                        (k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"
                    ]
                    value = ", ".join(sorted(allowed)).encode()
                    message = {**message, "headers": [*headers, (b"allow", value)]}
            await send(message)

        await self.app(scope, receive, send_with_allow)
