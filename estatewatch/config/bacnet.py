"""BACnet/IP devices in the site file: where a device is reached and which of its objects'
properties are points, and the gateway's own BACnet/IP port.

A point names a BACnet object (`object_type`, `instance`) and one of its properties,
present-value unless told; its unit is the one the object reports (its `units` property)
unless the site file gives one. Names follow the standard's (ASHRAE 135) spelling in
kebab case, as BACnet tools print them: `analog-input`, `present-value`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal, Self

from pydantic import Field, model_validator

from estatewatch.config.base import PointName, StrictModel
from estatewatch.config.report import ReportOptions
from estatewatch.durations import Duration

MAX_INSTANCE = 4_194_302
"""The largest object/device instance (22 bits; 4194303 means "any" in a Who-Is)."""

OBJECT_TYPES = frozenset(
    {
        "analog-input",
        "analog-output",
        "analog-value",
        "binary-input",
        "binary-output",
        "binary-value",
        "multi-state-input",
        "multi-state-output",
        "multi-state-value",
        "accumulator",
        "pulse-converter",
        "large-analog-value",
        "integer-value",
        "positive-integer-value",
    }
)
"""Object types whose present-value is one number or state: what a point can read."""

BINARY_TYPES = frozenset({"binary-input", "binary-output", "binary-value"})

_ADDRESS = re.compile(r"^(\d{1,3}(\.\d{1,3}){3})(/\d{1,2})?(:\d{1,5})?$")
_PROPERTY = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def _check_address(value: str | None, what: str) -> None:
    if value is None:
        return
    match = _ADDRESS.match(value)
    if match is None or any(int(part) > 255 for part in match.group(1).split(".")):
        raise ValueError(f"{what} {value!r} is not an IPv4 address[/prefix][:port]")
    if match.group(4) and not 1 <= int(match.group(4)[1:]) <= 65535:
        raise ValueError(f"{what} {value!r}: the port is out of range")


class BacnetPoint(ReportOptions):
    """One property of one object of a BACnet device."""

    name: PointName
    object_type: str = Field(description="e.g. analog-input, binary-value, multi-state-input")
    instance: int = Field(ge=0, le=MAX_INSTANCE)
    property: str = Field(default="present-value", description="kebab case: present-value")
    unit: str | None = Field(
        default=None, description="the unit; by default the one the object reports (units)"
    )


class Bacnet(StrictModel):
    """A BACnet/IP device: its device instance, and its address, or none to find it by
    Who-Is/I-Am (a broadcast on the gateway's subnet, or through the BBMD the gateway
    registers with: `gateway.bacnet.bbmd`)."""

    protocol: Literal["bacnet"]
    device_instance: int = Field(ge=0, le=MAX_INSTANCE)
    address: str | None = Field(
        default=None, description="IPv4[:port] (47808 by default); none: discover by Who-Is"
    )
    timeout: Duration = timedelta(seconds=2)
    cov: bool = Field(
        default=True,
        description="subscribe to changes of value where the device accepts it (else polled)",
    )
    cov_lifetime: Duration = Field(
        default=timedelta(minutes=5), description="a subscription's lifetime, renewed before"
    )
    points: list[BacnetPoint] = Field(min_length=1)

    @model_validator(mode="after")
    def _valid(self) -> Self:
        _check_address(self.address, "address")
        names: set[str] = set()
        for point in self.points:
            if point.name in names:
                raise ValueError(f"point {point.name!r} is named twice")
            names.add(point.name)
            if point.object_type not in OBJECT_TYPES:
                raise ValueError(
                    f"point {point.name!r}: object_type {point.object_type!r} is not one of"
                    f" {', '.join(sorted(OBJECT_TYPES))}"
                )
            if not _PROPERTY.match(point.property):
                raise ValueError(
                    f"point {point.name!r}: property {point.property!r} is not a BACnet"
                    " property name in kebab case (present-value)"
                )
        objects = [(p.object_type, p.instance, p.property) for p in self.points]
        for point, key in zip(self.points, objects, strict=True):
            if objects.count(key) > 1:
                raise ValueError(
                    f"point {point.name!r}: {key[0]},{key[1]} {key[2]} is read by another point"
                )
        if not 10 <= self.cov_lifetime.total_seconds() <= 86_400:
            raise ValueError("cov_lifetime must be between 10s and 1 day")
        return self


class BacnetPort(StrictModel):
    """The gateway's own BACnet/IP port: one per gateway, shared by every BACnet device.

    A device on another subnet is reached through a BBMD: the gateway registers with it as a
    foreign device (`bbmd`, re-registered every `bbmd_ttl`) so its Who-Is reaches that
    subnet and the I-Ams come back."""

    address: str = Field(
        default="0.0.0.0:47808", description="IPv4[/prefix][:port] to bind (UDP 47808)"
    )
    device_instance: int = Field(
        default=4_194_000, ge=0, le=MAX_INSTANCE, description="the gateway's own device"
    )
    bbmd: str | None = Field(default=None, description="BBMD to register with, IPv4[:port]")
    bbmd_ttl: Duration = Field(
        default=timedelta(minutes=5), description="foreign-device registration time-to-live"
    )
    discovery_timeout: Duration = timedelta(seconds=3)

    @model_validator(mode="after")
    def _valid(self) -> Self:
        _check_address(self.address, "address")
        _check_address(self.bbmd, "bbmd")
        if not 30 <= self.bbmd_ttl.total_seconds() <= 65_535:
            raise ValueError("bbmd_ttl must be between 30s and 65535s (a 16-bit field)")
        return self
