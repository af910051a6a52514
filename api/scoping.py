"""The estate guard: one app-wide dependency that keeps a user to their estates.

Before any route runs, every estate a request names is checked against the signed-in user's
`EstateScope`: a `site` in the query or the JSON body, and every id in the path or the body
that `api.store.owners.OWNERS` can trace to its estate (alarm, order, incident, handover,
quality sample, plan, user, photo). Outside the scope the answer is 404, the same as for an
id that does not exist. A new route whose ids are named like these is guarded without a line
of its own; a list a route returns is narrowed by the route itself with `user.scope.narrow`
(the one thing the guard cannot do from outside), and `tests/api/test_estates.py` walks
every route to prove both.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from api.deps import current_principal
from api.domain.errors import NotAuthenticated, NotFound
from api.domain.permissions import Principal
from api.domain.scope import EstateScope
from api.runtime import Runtime
from api.store.owners import OWNERS, Owner


def _named(request: Request, body: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """The sites and the (id name, id) pairs this request names."""
    sites = request.query_params.getlist("site")
    ids = [(k, str(v)) for k, v in request.path_params.items() if k in OWNERS]
    if isinstance(body, dict):
        if isinstance(body.get("site"), str):
            sites.append(body["site"])
        ids += [(k, v) for k, v in body.items() if k in OWNERS and isinstance(v, str)]
    return sites, ids


def _visible(owner: Owner, scope: EstateScope) -> bool:
    if owner is None or scope.everything:
        return True
    return bool(owner) and any(scope.covers(site) for site in owner)


def _check(runtime: Runtime, scope: EstateScope, ids: list[tuple[str, str]]) -> None:
    session: Session
    with runtime.db.read() as session:
        for name, value in ids:
            if not _visible(OWNERS[name](session, value), scope):
                raise NotFound(f"no {name.removesuffix('_id')} {value!r}", field=name)


async def _json(request: Request) -> Any:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return None
    try:
        return await request.json()  # cached: the route's own body parsing reads it again
    except ValueError:
        return None  # the route answers the malformed body


async def guard_estates(request: Request) -> None:
    """App-wide dependency (see the module's docstring). Anonymous requests pass: their
    routes refuse them, or are public."""
    if "authorization" not in request.headers:
        return
    try:
        user: Principal = await asyncio.to_thread(current_principal, request)
    except NotAuthenticated:
        return  # the route's own dependency answers 401 (or the route is public)
    scope = user.scope
    if scope.everything:
        return
    sites, ids = _named(request, await _json(request))
    for site in sites:
        scope.check(site)
    if ids:
        await asyncio.to_thread(_check, request.app.state.runtime, scope, ids)
