"""Reading a simulated device the way a gateway does: real Modbus TCP, `codec.decode`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.pdu import ModbusPDU

from estatewatch.codec import Value, decode
from estatewatch.config import ModbusTcp, RegisterPoint, RegisterType, SiteConfig


@asynccontextmanager
async def modbus_client(
    port: int, *, wait: float = 1.0, host: str = "127.0.0.1"
) -> AsyncIterator[AsyncModbusTcpClient]:
    client = AsyncModbusTcpClient(host, port=port, timeout=wait, retries=0)
    assert await client.connect(), f"no Modbus server on {host}:{port}"
    try:
        yield client
    finally:
        client.close()


async def read_raw(
    client: AsyncModbusTcpClient, table: RegisterType, address: int, count: int, unit: int
) -> ModbusPDU:
    read = {
        RegisterType.COIL: client.read_coils,
        RegisterType.DISCRETE_INPUT: client.read_discrete_inputs,
        RegisterType.HOLDING: client.read_holding_registers,
        RegisterType.INPUT: client.read_input_registers,
    }[table]
    return await read(address, count=count, device_id=unit)


async def read_point(client: AsyncModbusTcpClient, point: RegisterPoint, unit: int) -> Value:
    response = await read_raw(client, point.table, point.address, point.count, unit)
    assert not response.isError(), f"{point.name}: {response}"
    words = [int(response.bits[0])] if point.table.is_bit else list(response.registers)
    return decode(words, point)


def connection(site: SiteConfig, device_id: str) -> ModbusTcp:
    conn = site.device(device_id).connection
    assert isinstance(conn, ModbusTcp)
    return conn
