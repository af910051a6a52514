"""The gateway's errors, derived from `EstateWatchError`; library errors are translated at the
boundary (`hub.py`) into these."""

from __future__ import annotations

from estatewatch.errors import EstateWatchError


class GatewayError(EstateWatchError):
    """Something the gateway could not do."""


class DeviceTimeout(GatewayError):
    """The device did not answer within its timeout."""


class LinkDown(GatewayError):
    """No connection to the device's address (refused, closed, or backing off)."""


class ModbusExceptionResponse(GatewayError):
    """The device answered with a Modbus exception response."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(message)


class BadResponse(GatewayError):
    """The device answered with something that is not what was asked (short, wrong id)."""
