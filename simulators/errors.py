"""The simulators' errors, all derived from `EstateWatchError`."""

from __future__ import annotations

from estatewatch.errors import EstateWatchError


class SimulatorError(EstateWatchError):
    """Something the simulators were asked cannot be done."""


class UnknownDevice(SimulatorError, KeyError):
    """No simulated device has this id."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        super().__init__(f"no simulated device {device_id!r}")

    def __str__(self) -> str:  # KeyError would quote the message
        return f"no simulated device {self.device_id!r}"


class FaultError(SimulatorError, ValueError):
    """A fault this device cannot have (or no fault by that name)."""
