"""Refresh tokens: issued at sign-in, rotated on each use, revoked by family on sign-out or
when a used token is presented again (a sign it was copied)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.domain.errors import NotAuthenticated
from api.models import RefreshToken, User


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    session: Session,
    *,
    username: str,
    now: datetime,
    ttl: timedelta,
    family: str | None = None,
) -> tuple[str, datetime]:
    """A new refresh token (shown once; only its hash is kept) and when it expires."""
    token = secrets.token_urlsafe(32)
    expires = now + ttl
    session.add(
        RefreshToken(
            token_hash=_hash(token),
            family=family or uuid.uuid4().hex,
            username=username,
            issued_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    return token, expires


def _revoke_family(session: Session, family: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def rotate(session: Session, *, token: str, now: datetime) -> tuple[User, str]:
    """Spend `token`: returns its user and family, for the family's next token. A token
    already spent or revoked revokes its family (the caller commits that, then refuses)."""
    row = session.get(RefreshToken, _hash(token), with_for_update=True)
    if row is None:
        raise NotAuthenticated("unknown refresh token; sign in again")
    if row.used_at is not None or row.revoked_at is not None:
        _revoke_family(session, row.family, now)
        raise Reused(row.family)
    if row.expires_at <= now:
        raise NotAuthenticated("the refresh token has expired; sign in again")
    user = session.get(User, row.username)
    if user is None or not user.active:
        raise NotAuthenticated("this account is disabled or gone")
    row.used_at = now
    return user, row.family


def family_of(session: Session, *, token: str) -> str | None:
    return session.scalar(
        select(RefreshToken.family).where(RefreshToken.token_hash == _hash(token))
    )


def revoke(session: Session, *, token: str, now: datetime) -> bool:
    """Sign out: revoke the token's whole family. False if the token is unknown."""
    family = family_of(session, token=token)
    if family is None:
        return False
    _revoke_family(session, family, now)
    return True


class Reused(NotAuthenticated):
    """A spent refresh token came back: its family is revoked."""

    def __init__(self, family: str) -> None:
        super().__init__(
            "this refresh token was already used; every session of it is now signed out"
        )
        self.family = family
