"""The API's error hierarchy, without HTTP: what went wrong, in the domain's words.

`api.errors.PROBLEMS` is the one table that says how each becomes a problem response.

    DomainError
    ├── InvalidInput          the request names something impossible
    ├── NotAuthenticated      no valid credentials or token
    ├── Forbidden             the user may not do this
    ├── NotFound              no such alarm, order, plan, user ...
    ├── Conflict              the thing's state forbids it now
    │   └── IllegalTransition the lifecycle table has no such move
    ├── Expired               a resume token older than what is kept
    ├── RateLimited           too many attempts: try again later
    └── Unavailable           a store the API depends on does not answer
"""

from __future__ import annotations

from typing import Any

from estatewatch.errors import EstateWatchError


class DomainError(EstateWatchError):
    """An error a client caused or should know about. `field` names the input at fault;
    `extensions` are further facts for the client (the allowed actions, the oldest id)."""

    def __init__(self, detail: str, *, field: str | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extensions = extensions


class InvalidInput(DomainError):
    pass


class NotAuthenticated(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)


class Forbidden(DomainError):
    pass


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class IllegalTransition(Conflict):
    pass


class FaultStillActive(Conflict):
    """Completing or closing an order whose alarm's fault is still active, without an
    override reason."""


class Expired(DomainError):
    pass


class RateLimited(DomainError):
    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(DomainError):
    pass
