"""Signing in: the OAuth2 password flow, returning a short-lived bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.orm import Session

from api.deps import RuntimeDep
from api.domain.errors import NotAuthenticated
from api.models import User
from api.runtime import Runtime
from api.schemas.user import RefreshIn, Token
from api.security import CLIENT_FACTOR, issue_token
from api.store import tokens

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
    with runtime.db.write() as session:
        return _pair(session, runtime, form.username, role, family=None)


def _pair(
    session: Session, runtime: Runtime, username: str, role: str, *, family: str | None
) -> Token:
    now = runtime.clock.now()
    access, expires = issue_token(
        username=username,
        role=role,
        secret=runtime.secret,
        now=now,
        ttl=runtime.settings.access_token_ttl,
    )
    refresh, refresh_expires = tokens.issue(
        session, username=username, now=now, ttl=runtime.settings.refresh_token_ttl, family=family
    )
    return Token(
        access_token=access,
        expires_at=expires,
        refresh_token=refresh,
        refresh_expires_at=refresh_expires,
    )


@router.post("/refresh")
def refresh(runtime: RuntimeDep, body: RefreshIn) -> Token:
    """A new access token and a new refresh token for a refresh token, which is spent. A
    spent token presented again signs out every session descended from the same sign-in."""
    reused: tokens.Reused | None = None
    with runtime.db.write() as session:
        try:
            user, family = tokens.rotate(session, token=body.refresh_token, now=runtime.clock.now())
        except tokens.Reused as exc:
            reused = exc  # the family's revocation commits; then the refusal
        else:
            return _pair(session, runtime, user.username, user.role, family=family)
    assert reused is not None
    raise reused


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(runtime: RuntimeDep, body: RefreshIn) -> None:
    """Revoke the refresh token and every token rotated from the same sign-in. Access tokens
    already issued run out on their own (`EW_ACCESS_TOKEN_TTL`)."""
    with runtime.db.write() as session:
        tokens.revoke(session, token=body.refresh_token, now=runtime.clock.now())
