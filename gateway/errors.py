"""The gateway's errors: one hierarchy, under `EstateWatchError`."""

from __future__ import annotations

from estatewatch.contracts.payloads import DeviceErrorKind
from estatewatch.errors import EstateWatchError


class GatewayError(EstateWatchError):
    """Something the gateway cannot do."""


class ReadFailure(GatewayError):
    """A Modbus read that gave no registers: no answer, no connection, an exception response,
    or an answer of the wrong size. `kind` and `code` go into `DeviceStatus.last_error`."""

    def __init__(self, kind: DeviceErrorKind, message: str, code: int | None = None) -> None:
        self.kind = kind
        self.code = code
        self.message = message
        super().__init__(message)

    @property
    def answered(self) -> bool:
        """The device sent something back: it is there, even if it refused."""
        return self.kind in (
            DeviceErrorKind.MODBUS_EXCEPTION,
            DeviceErrorKind.DECODE,
            DeviceErrorKind.PROTOCOL_ERROR,
        )


class StoreError(GatewayError):
    """The store-and-forward database cannot be opened or written."""
