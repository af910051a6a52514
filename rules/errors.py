"""The rules engine's errors, all under `EstateWatchError`."""

from __future__ import annotations

from estatewatch.errors import EstateWatchError


class RulesError(EstateWatchError):
    """Something the rules engine cannot do (a bad state file, a failed replay source)."""


class StateError(RulesError):
    """The state store could not be read or written."""


class ReplaySourceError(RulesError):
    """The history to replay could not be read."""
