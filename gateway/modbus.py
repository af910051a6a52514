"""Modbus connections: one `ModbusHub` per TCP address or serial port, shared by the devices
behind it (eight elevators behind one serial-to-TCP converter, a daisy-chained RS-485 bus),
with its own lock so their requests take turns on the wire.

The hub turns pymodbus's outcomes into one `ReadFailure` vocabulary: no answer (timeout),
no connection, an exception response (with its code), an answer of the wrong size. It
reconnects on demand with exponential backoff and never writes: the gateway is read-only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from estatewatch.clock import Clock
from estatewatch.config import ModbusRtu, ModbusTcp, RegisterType
from estatewatch.contracts.payloads import DeviceErrorKind
from gateway.errors import ReadFailure
from gateway.plan import ReadRequest

log = logging.getLogger(__name__)

CONNECT_BACKOFF_MIN = 0.5
CONNECT_BACKOFF_MAX = 30.0
SILENT_LIMIT = 3
"""Timeouts in a row, with no unit answering in between, before the connection is assumed
dead (a half-open TCP socket) and reopened."""

ClientFactory = Callable[[], Any]


def hub_key(connection: ModbusTcp | ModbusRtu) -> str:
    if isinstance(connection, ModbusTcp):
        return f"tcp://{connection.host}:{connection.port}"
    return f"rtu://{connection.serial_port}"


def client_factory(connection: ModbusTcp | ModbusRtu) -> ClientFactory:
    """How to make the pymodbus client of a connection (retries and reconnects are ours)."""
    timeout = connection.timeout.total_seconds()
    if isinstance(connection, ModbusTcp):
        return lambda: AsyncModbusTcpClient(
            connection.host,
            port=connection.port,
            timeout=timeout,
            retries=0,
            reconnect_delay=0,
            name=hub_key(connection),
        )
    return lambda: AsyncModbusSerialClient(
        connection.serial_port,
        baudrate=connection.baudrate,
        parity=connection.parity,
        bytesize=connection.bytesize,
        stopbits=connection.stopbits,
        timeout=timeout,
        retries=0,
        reconnect_delay=0,
        name=hub_key(connection),
    )


class ModbusHub:
    """One connection and its lock. `read` is the only operation."""

    def __init__(self, key: str, factory: ClientFactory, *, timeout: float, clock: Clock) -> None:
        self.key = key
        self.timeout = timeout
        self.clock = clock
        self._factory = factory
        self._client: Any = None
        self.lock = asyncio.Lock()
        self._backoff = CONNECT_BACKOFF_MIN
        self._next_connect = 0.0
        self._silent = 0
        self._why = f"{key}: not connected"
        self.requests = 0
        self.connects = 0

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def read(self, unit: int, request: ReadRequest) -> list[int]:
        """The registers (bits as bools) of `request` from unit `unit`, or a
        `ReadFailure`."""
        async with self.lock:
            client = await self._connected()
            self.requests += 1
            try:
                response = await _call(client, request, unit)  # pymodbus times it out
            except (ModbusIOException, TimeoutError):
                self._silent += 1
                if self._silent >= SILENT_LIMIT:
                    await self._drop(f"{SILENT_LIMIT} requests in a row went unanswered")
                raise ReadFailure(
                    DeviceErrorKind.TIMEOUT, f"no answer within {self.timeout:g} s ({request})"
                ) from None
            except ConnectionException as exc:
                await self._drop(str(exc))
                raise ReadFailure(DeviceErrorKind.CONNECTION, f"{self.key}: {exc}") from None
            except ModbusException as exc:
                raise ReadFailure(DeviceErrorKind.DECODE, f"{request}: {exc}") from None
            self._silent = 0
        if response.isError():
            code: int | None = getattr(response, "exception_code", None)
            name = _EXCEPTION_NAMES.get(code or 0, "unknown")
            raise ReadFailure(
                DeviceErrorKind.MODBUS_EXCEPTION,
                f"exception response {code} ({name}) to {request}",
                code=code,
            )
        expected = _FUNCTION_CODES[request.table]
        answered = getattr(response, "function_code", expected)
        if answered != expected:
            # pymodbus pairs answers by transaction id alone: a device (or gateway) that
            # answers another function's read would have its registers taken for these.
            raise ReadFailure(
                DeviceErrorKind.DECODE,
                f"{request}: the device answered function {answered}, not {expected}",
            )
        words: list[int] = response.bits if request.table.is_bit else response.registers
        if len(words) == request.count:
            return words
        if len(words) < request.count:
            raise ReadFailure(
                DeviceErrorKind.DECODE,
                f"{request}: the device answered {len(words)} of {request.count}",
            )
        return words[: request.count]  # bits come padded to whole bytes

    async def _connected(self) -> Any:
        if self._client is not None and self._client.connected:
            return self._client
        now = self.clock.monotonic()
        if now < self._next_connect:
            raise ReadFailure(
                DeviceErrorKind.CONNECTION,
                f"{self._why} (next attempt in {self._next_connect - now:.1f} s)",
            )
        if self._client is None:
            try:
                self._client = self._factory()
            except RuntimeError as exc:  # the serial client without pyserial installed
                self._next_connect = now + CONNECT_BACKOFF_MAX
                self._why = f"{self.key}: {exc}"
                raise ReadFailure(DeviceErrorKind.CONNECTION, self._why) from None
            # One dead unit behind a shared address must not close the others' connection.
            self._client.set_max_no_responses(1_000_000)
        if not await self._client.connect():
            self._next_connect = self.clock.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, CONNECT_BACKOFF_MAX)
            self._why = f"{self.key}: cannot connect"
            raise ReadFailure(DeviceErrorKind.CONNECTION, self._why)
        self._backoff = CONNECT_BACKOFF_MIN
        self.connects += 1
        self._silent = 0
        log.debug("connected to %s", self.key)
        return self._client

    async def _drop(self, why: str) -> None:
        log.debug("closing %s: %s", self.key, why)
        await self.close()


_READS = {
    RegisterType.COIL: "read_coils",
    RegisterType.DISCRETE_INPUT: "read_discrete_inputs",
    RegisterType.HOLDING: "read_holding_registers",
    RegisterType.INPUT: "read_input_registers",
}


_FUNCTION_CODES = {
    RegisterType.COIL: 1,
    RegisterType.DISCRETE_INPUT: 2,
    RegisterType.HOLDING: 3,
    RegisterType.INPUT: 4,
}


async def _call(client: Any, request: ReadRequest, unit: int) -> Any:
    read = getattr(client, _READS[request.table])
    return await read(request.address, count=request.count, device_id=unit)


_EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
