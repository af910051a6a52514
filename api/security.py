"""Passwords, access tokens and the login rate limit.

- Passwords: scrypt from the standard library (memory-hard; OWASP's minimum is N=2^17, r=8,
  p=1), stored as ``scrypt$<log2 N>$<r>$<p>$<salt>$<hash>`` so the cost can rise later
  without invalidating old hashes.
- Tokens: short-lived HS256 JWTs. Expiry is checked against the injected clock, not the
  machine's, so tests and accelerated demos agree with the tokens they issue.
- Logins: at most `attempts` failures per (username, client) in a sliding `window`, and
  `CLIENT_FACTOR` times as many per client whatever the username (password spraying).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from api.domain.errors import NotAuthenticated, RateLimited
from estatewatch.clock import Clock

SCRYPT_R, SCRYPT_P = 8, 1
CLIENT_FACTOR = 4
ALGORITHM = "HS256"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _scrypt(password: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    n = 1 << log_n
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=2 * 128 * r * n + (1 << 20), dklen=32
    )


def hash_password(password: str, *, cost: int) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, cost, SCRYPT_R, SCRYPT_P)
    return f"scrypt${cost}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, log_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = _scrypt(password, base64.b64decode(salt), int(log_n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


class PasswordCheck:
    """Verifies passwords; an unknown username costs as much as a wrong password, so timing
    does not tell which usernames exist."""

    def __init__(self, cost: int) -> None:
        self.cost = cost
        self._dummy = hash_password(secrets.token_hex(8), cost=cost)

    def verify(self, password: str, stored: str | None) -> bool:
        if stored is None:
            verify_password(password, self._dummy)
            return False
        return verify_password(password, stored)


@dataclass(frozen=True, slots=True)
class TokenClaims:
    username: str
    role: str
    expires_at: datetime


def issue_token(
    *, username: str, role: str, secret: str, now: datetime, ttl: timedelta
) -> tuple[str, datetime]:
    expires = now + ttl
    claims = {
        "sub": username,
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires


def read_token(token: str, *, secret: str, now: datetime) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "require": ["sub", "exp"]},
        )
    except jwt.PyJWTError as exc:
        raise NotAuthenticated(f"invalid access token: {exc}") from None
    expires = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
    if expires <= now:
        raise NotAuthenticated("the access token has expired; sign in again")
    return TokenClaims(str(claims["sub"]), str(claims.get("role", "")), expires)


class LoginLimiter:
    """Counts failed logins per key in a sliding window (in this process; several API
    instances each count their own). Holds at most `max_keys` keys, dropping the oldest."""

    def __init__(
        self, clock: Clock, *, attempts: int, window: timedelta, max_keys: int = 10_000
    ) -> None:
        self.clock = clock
        self.attempts = attempts
        self.window = window.total_seconds()
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        horizon = self.clock.monotonic() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        return times

    def check(self, key: str, *, attempts: int | None = None) -> None:
        """Refuse with 429 while `key` has used up its failures (`attempts`, default the
        limiter's)."""
        times = self._recent(key)
        if len(times) >= (attempts or self.attempts):
            retry = int(times[0] + self.window - self.clock.monotonic()) + 1
            raise RateLimited(
                f"too many failed sign-ins; try again in {retry} s", retry_after=retry
            )

    def failed(self, key: str) -> None:
        times = self._recent(key)
        times.append(self.clock.monotonic())
        self._failures[key] = times
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
