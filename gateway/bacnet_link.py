"""The gateway's BACnet/IP port: one bacpypes3 `Application` for every BACnet device.

All the library's types stay in this module: callers pass and get plain Python values and
`ReadFailure`s. A device is found at its configured address or by a Who-Is for its
instance (broadcast, or through the BBMD the port registered with as a foreign device);
its points are read by ReadPropertyMultiple, as many per request as fit an APDU, and
changes of value come by unconfirmed COV notifications where the device accepts a
SubscribeCOV.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bacpypes3.apdu import ErrorRejectAbortNack
from bacpypes3.app import Application
from bacpypes3.basetypes import ErrorType, PropertyIdentifier
from bacpypes3.constructeddata import AnyAtomic
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import (
    BitString,
    Boolean,
    CharacterString,
    Enumerated,
    ObjectIdentifier,
    Real,
)
from bacpypes3.vendor import get_vendor_info

from estatewatch.codec import Value
from estatewatch.config import BacnetPort
from estatewatch.config.bacnet import BINARY_TYPES
from estatewatch.contracts.payloads import DeviceErrorKind
from gateway.errors import ReadFailure

log = logging.getLogger(__name__)

PER_REQUEST = 40
"""Property references per ReadPropertyMultiple: an answer of 40 values fits the 1476-byte
APDU of BACnet/IP without segmentation, which small controllers do not all support."""

VENDOR = get_vendor_info(0)
"""The standard's object and property types (ASHRAE): points read standard objects."""


@dataclass(frozen=True, slots=True)
class Ref:
    """One property of one object, as the library wants it."""

    object_type: str
    instance: int
    prop: str

    @property
    def object(self) -> ObjectIdentifier:
        return ObjectIdentifier(f"{self.object_type},{self.instance}")

    @property
    def identifier(self) -> PropertyIdentifier:
        return PropertyIdentifier(self.prop)

    @property
    def binary(self) -> bool:
        return self.object_type in BINARY_TYPES


class PointError(Exception):
    """The device answered for the object, with an error (unknown object or property)."""


Answer = Value | PointError


def to_value(raw: object, ref: Ref) -> Answer:
    """A plain value of what the device answered for `ref`."""
    if isinstance(raw, ErrorType):
        return PointError(f"{raw.errorClass}: {raw.errorCode}")
    if isinstance(raw, AnyAtomic):
        raw = raw.get_value()
    if ref.binary and isinstance(raw, Enumerated):
        return str(raw) == "active"  # BinaryPV: inactive (0) / active (1)
    if isinstance(raw, Boolean):
        return bool(raw)
    if isinstance(raw, Real):
        return float(f"{float(raw):.7g}")  # a 32-bit float: its 7 significant digits
    if isinstance(raw, float):
        return raw
    if isinstance(raw, Enumerated | int):
        return int(raw)
    if isinstance(raw, CharacterString | str):
        return str(raw)
    if isinstance(raw, BitString):
        return int("".join(str(b) for b in raw) or "0", 2)
    return PointError(f"{ref.prop} is not one value ({type(raw).__name__})")


def unit_name(raw: object) -> str | None:
    """The engineering unit of an object's `units` property, as BACnet names it."""
    if isinstance(raw, Enumerated):
        return str(raw)
    return None


class BacnetLink:
    """The gateway's BACnet/IP port; an async context manager."""

    def __init__(self, port: BacnetPort) -> None:
        self.port = port
        self.app: Application | None = None
        self.requests = 0
        """ReadPropertyMultiple requests sent (the bench and the tests count them)."""

    async def __aenter__(self) -> BacnetLink:
        port = self.port
        args = argparse.Namespace(
            vendoridentifier=999,  # the ASHRAE test vendor: EstateWatch has no id of its own
            instance=port.device_instance,
            name=f"EstateWatch gateway {port.device_instance}",
            address=port.address.replace("0.0.0.0", "host", 1),  # noqa: S104 (the default)
            network=0,
            foreign=port.bbmd,
            ttl=int(port.bbmd_ttl.total_seconds()),
            bbmd=None,
        )
        try:
            self.app = Application.from_args(args)
        except (OSError, ValueError, RuntimeError) as exc:
            raise ReadFailure(
                DeviceErrorKind.CONNECTION, f"cannot open BACnet/IP at {port.address}: {exc}"
            ) from exc
        await asyncio.sleep(0)  # the library binds its UDP sockets in tasks of its own
        if port.bbmd:
            log.info("BACnet/IP at %s, foreign device of %s", port.address, port.bbmd)
        return self

    async def __aexit__(self, *exc: object) -> None:
        app, self.app = self.app, None
        if app is not None:
            app.close()

    def _app(self) -> Application:
        if self.app is None:
            raise ReadFailure(DeviceErrorKind.CONNECTION, "the BACnet/IP port is closed")
        return self.app

    async def locate(self, instance: int, address: str | None, wait: float) -> str:
        """The address of device `instance`: the configured one, or the source of its I-Am."""
        if address is not None:
            return address
        app = self._app()
        try:
            found = await asyncio.wait_for(app.who_is(instance, instance, timeout=wait), wait)
        except TimeoutError:
            found = []
        for i_am in found or []:
            return str(i_am.pduSource)
        raise ReadFailure(
            DeviceErrorKind.TIMEOUT, f"no I-Am from device {instance} within {wait:g} s"
        )

    async def read(self, address: str, refs: Sequence[Ref], wait: float) -> list[object]:
        """What the device at `address` answers for `refs`, in order (an `ErrorType` for a
        point it refused), by ReadPropertyMultiple in as few requests as fit."""
        answers: list[object] = []
        for start in range(0, len(refs), PER_REQUEST):
            chunk = refs[start : start + PER_REQUEST]
            answers.extend(await self._read_chunk(address, chunk, wait))
        return answers

    async def _read_chunk(self, address: str, refs: Sequence[Ref], wait: float) -> list[object]:
        parameters: list[Any] = []
        self.requests += 1
        for ref in refs:
            parameters += [ref.object, [ref.identifier]]
        try:
            result = await asyncio.wait_for(
                self._app().read_property_multiple(
                    Address(address), parameters, vendor_info=VENDOR
                ),
                wait,
            )
        except TimeoutError:
            raise ReadFailure(
                DeviceErrorKind.TIMEOUT, f"no answer from {address} within {wait:g} s"
            ) from None
        except (OSError, ValueError, TypeError) as exc:
            raise ReadFailure(DeviceErrorKind.CONNECTION, f"{address}: {exc}") from exc
        if isinstance(result, ErrorRejectAbortNack) or result is None:
            raise ReadFailure(
                DeviceErrorKind.PROTOCOL_ERROR, f"{address} refused ReadPropertyMultiple: {result}"
            )
        found = {(str(o), str(p)): value for o, p, _index, value in result}
        return [found.get((str(r.object), r.prop)) for r in refs]

    @contextlib.asynccontextmanager
    async def changes(
        self, address: str, ref: Ref, lifetime: float, wait: float
    ) -> AsyncIterator[Callable[[], Awaitable[object]]]:
        """Subscribe to `ref`'s changes of value (unconfirmed notifications, renewed by the
        library before `lifetime` runs out); yields a coroutine function giving each new
        value. A `ReadFailure` when the device refuses or does not answer the subscription."""
        manager = self._app().change_of_value(
            Address(address), ref.object, None, False, int(lifetime)
        )
        try:
            scm = await asyncio.wait_for(manager.__aenter__(), wait)
        except TimeoutError:
            raise ReadFailure(
                DeviceErrorKind.TIMEOUT, f"no COV subscription at {address}"
            ) from None
        except ErrorRejectAbortNack as exc:  # a refusal (a BaseException in bacpypes3)
            raise ReadFailure(
                DeviceErrorKind.PROTOCOL_ERROR, f"{address} refused COV on {ref.object}: {exc}"
            ) from exc

        async def next_value() -> object:
            while True:
                identifier, value = await scm.get_value()
                if str(identifier) == ref.prop:
                    return value

        try:
            yield next_value
        except BaseException as exc:  # gone offline or shutting down: abandon, send nothing
            await scm.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        with contextlib.suppress(TimeoutError, OSError, ErrorRejectAbortNack):
            await asyncio.wait_for(scm.__aexit__(None, None, None), wait)
