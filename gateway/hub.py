"""One Modbus connection (a TCP address or a serial bus) shared by the devices behind it.

Devices at the same host:port (the eight elevators behind one serial-to-TCP gateway) or on
the same serial line take turns through one `asyncio.Lock`, as the protocol requires. The
pymodbus errors are translated here into the gateway's own: `DeviceTimeout`, `LinkDown`,
`ModbusExceptionResponse(code)`, `BadResponse`. pymodbus retries nothing (`retries=0`) and
does not reconnect by itself: the poller decides when to try again, and a failed connect is
not retried before a backoff (so a dead address costs nothing per poll).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from estatewatch.clock import Clock
from estatewatch.config import ModbusRtu, ModbusTcp, RegisterType
from gateway.errors import BadResponse, DeviceTimeout, LinkDown, ModbusExceptionResponse

log = logging.getLogger(__name__)

# pymodbus logs every timeout at ERROR with a traceback-like text; the gateway logs itself.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

CONNECT_BACKOFF_MIN = 0.5
CONNECT_BACKOFF_MAX = 30.0
NEVER_DISCONNECT = 1 << 30


def hub_key(conn: ModbusTcp | ModbusRtu) -> str:
    if isinstance(conn, ModbusTcp):
        return f"tcp://{conn.host}:{conn.port}"
    return f"rtu://{conn.serial_port}"


class Hub:
    """A shared Modbus connection. Use as an async context manager."""

    def __init__(self, conn: ModbusTcp | ModbusRtu, *, clock: Clock, timeout: float) -> None:
        self.key = hub_key(conn)
        self.clock = clock
        self.timeout = timeout
        self._conn = conn
        self._client: Any = None
        self._lock = asyncio.Lock()
        self._backoff = CONNECT_BACKOFF_MIN
        self._retry_at = 0.0
        self.requests = 0

    def _make_client(self) -> Any:
        conn = self._conn
        if isinstance(conn, ModbusTcp):
            return AsyncModbusTcpClient(
                conn.host, port=conn.port, timeout=self.timeout, retries=0, reconnect_delay=0
            )
        return AsyncModbusSerialClient(
            conn.serial_port,
            baudrate=conn.baudrate,
            parity=conn.parity,
            bytesize=conn.bytesize,
            stopbits=conn.stopbits,
            timeout=self.timeout,
            retries=0,
            reconnect_delay=0,
        )

    async def __aenter__(self) -> Hub:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _ensure_connected(self) -> Any:
        if self._client is not None and self._client.connected:
            return self._client
        now = self.clock.monotonic()
        if now < self._retry_at:
            raise LinkDown(
                f"{self.key}: not connected (next attempt in {self._retry_at - now:.1f}s)"
            )
        self.close()
        client = self._make_client()
        if not await client.connect():
            client.close()
            self._retry_at = now + self._backoff
            self._backoff = min(self._backoff * 2, CONNECT_BACKOFF_MAX)
            raise LinkDown(f"{self.key}: connection failed")
        # Devices share this connection: one silent device must not make pymodbus close it
        # under the others (it does after retries+3 unanswered requests by default).
        ctx = getattr(client, "ctx", None)
        if ctx is not None and hasattr(ctx, "max_until_disconnect"):
            ctx.max_until_disconnect = ctx.count_until_disconnect = NEVER_DISCONNECT
        self._client = client
        self._backoff = CONNECT_BACKOFF_MIN
        return client

    async def read(
        self, table: RegisterType, address: int, count: int, unit: int
    ) -> Sequence[int] | Sequence[bool]:
        """The registers (or bits) asked for, or a `GatewayError` saying why not."""
        async with self._lock:
            client = await self._ensure_connected()
            self.requests += 1
            try:
                if table is RegisterType.HOLDING:
                    rr = await client.read_holding_registers(address, count=count, device_id=unit)
                elif table is RegisterType.INPUT:
                    rr = await client.read_input_registers(address, count=count, device_id=unit)
                elif table is RegisterType.COIL:
                    rr = await client.read_coils(address, count=count, device_id=unit)
                else:
                    rr = await client.read_discrete_inputs(address, count=count, device_id=unit)
            except ConnectionException as exc:
                self.close()
                raise LinkDown(f"{self.key}: {exc}") from exc
            except ModbusIOException as exc:
                if not client.connected:
                    self.close()
                    raise LinkDown(f"{self.key}: connection lost") from exc
                raise DeviceTimeout(
                    f"unit {unit} at {self.key}: no answer within {self.timeout:g}s"
                ) from exc
            except ModbusException as exc:
                raise BadResponse(f"unit {unit} at {self.key}: {exc}") from exc
        if rr.isError():
            code = int(getattr(rr, "exception_code", 0) or 0)
            raise ModbusExceptionResponse(
                code,
                f"unit {unit} at {self.key}: exception {code}"
                f" reading {table.value} {address}+{count}",
            )
        if table.is_bit:
            bits: list[bool] = list(rr.bits)
            if len(bits) < count:
                raise BadResponse(f"unit {unit} at {self.key}: {len(bits)} bits, asked {count}")
            return bits[:count]
        registers: list[int] = list(rr.registers)
        if len(registers) != count:
            raise BadResponse(
                f"unit {unit} at {self.key}: {len(registers)} registers, asked {count}"
            )
        return registers
