"""Signing in: the OAuth2 password flow, returning a short-lived bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import RuntimeDep
from api.errors import NotAuthenticated
from api.models import User
from api.schemas.user import Token
from api.security import CLIENT_FACTOR, issue_token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token")
def login(
    runtime: RuntimeDep,
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    client = request.client.host if request.client else "unknown"
    key, client_key = f"account:{form.username}|{client}", f"client:{client}"
    limiter = runtime.limiter
    limiter.check(key)
    limiter.check(client_key, attempts=limiter.attempts * CLIENT_FACTOR)
    with runtime.db.read() as session:
        user = session.get(User, form.username)
        stored = user.password_hash if user is not None and user.active else None
        role = user.role if user is not None else ""
    if not runtime.passwords.verify(form.password, stored):
        limiter.failed(key)
        limiter.failed(client_key)
        raise NotAuthenticated("wrong username or password")
    limiter.succeeded(key)
    token, expires = issue_token(
        username=form.username,
        role=role,
        secret=runtime.secret,
        now=runtime.clock.now(),
        ttl=runtime.settings.access_token_ttl,
    )
    return Token(access_token=token, expires_at=expires)
