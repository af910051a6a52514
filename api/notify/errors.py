"""The notification errors."""

from __future__ import annotations

from estatewatch.errors import EstateWatchError


class NotifyError(EstateWatchError):
    """Something about notifications went wrong."""


class DeliveryError(NotifyError):
    """A channel did not take a message. `permanent` failures are not retried."""

    def __init__(self, channel: str, reason: str, *, permanent: bool = False) -> None:
        super().__init__(f"{channel}: {reason}")
        self.channel = channel
        self.reason = reason
        self.permanent = permanent


class MissingSecret(NotifyError):
    """A channel names an environment variable that is not set."""
