"""Modbus TCP servers for the simulated devices (pymodbus 3.16 `SimDevice`/`SimData`).

Devices that share a host and port in the site config (the eight elevators behind one
serial-to-TCP gateway) are served by one server, one `SimDevice` per unit id. A device's
registers are laid out from its register map, each table apart (a coil and an input
register may share an address); an address no point covers answers "illegal data address".
Every request goes through the unit's action, which serves the device's current registers
and acts on its protocol faults:

- `offline`: no answer at all, so the client times out (pymodbus drops the request when the
  action raises `NoSuchIdException` and the server ignores missing devices);
- `modbus_exception`: the exception code the fault was given (4, device failure, by default);
- a unit id no device has: "illegal data address", from a catch-all unit 0.

pymodbus checks coils and discrete inputs in groups of 16: a read that *starts* on an
unmapped bit is refused, one that starts on a mapped bit and runs past the last reads zeros.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from types import TracebackType

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from estatewatch.config import ModbusRtu, ModbusTcp, RegisterPoint, RegisterType
from simulators.device import DeviceSim
from simulators.errors import SimulatorError
from simulators.faults import Fault

log = logging.getLogger(__name__)

FC_TABLE: dict[int, RegisterType] = {
    1: RegisterType.COIL,
    5: RegisterType.COIL,
    15: RegisterType.COIL,
    2: RegisterType.DISCRETE_INPUT,
    3: RegisterType.HOLDING,
    6: RegisterType.HOLDING,
    16: RegisterType.HOLDING,
    22: RegisterType.HOLDING,
    23: RegisterType.HOLDING,
    4: RegisterType.INPUT,
}
TABLE_ORDER = (
    RegisterType.COIL,
    RegisterType.DISCRETE_INPUT,
    RegisterType.HOLDING,
    RegisterType.INPUT,
)  # the order of SimDevice's four blocks
UNKNOWN_UNIT_CODE = ExcCodes.ILLEGAL_ADDRESS


def _runs(addresses: Iterable[int]) -> list[tuple[int, int]]:
    """Contiguous runs of addresses as (first, length)."""
    runs: list[tuple[int, int]] = []
    for address in sorted(set(addresses)):
        if runs and runs[-1][0] + runs[-1][1] == address:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((address, 1))
    return runs


def _addresses(points: Iterable[RegisterPoint], table: RegisterType) -> set[int]:
    return {p.address + i for p in points if p.table is table for i in range(p.count)}


def _block(points: list[RegisterPoint], table: RegisterType) -> list[SimData]:
    runs = _runs(_addresses(points, table))
    if table.is_bit:
        # SimDevice needs a block per table: an empty one gets a bit the action refuses.
        return [SimData(a, values=[False] * n, datatype=DataType.BITS) for a, n in runs] or [
            SimData(0, values=[False], datatype=DataType.BITS)
        ]
    if not runs:
        return [SimData(0, datatype=DataType.INVALID)]
    return [SimData(a, values=[0] * n, datatype=DataType.REGISTERS) for a, n in runs]


class UnitHandler:
    """The pymodbus action of one unit: serves its device's registers, acts on faults."""

    def __init__(self, sim: DeviceSim) -> None:
        self.sim = sim
        self.bits = {table: _addresses(sim.points, table) for table in TABLE_ORDER if table.is_bit}

    def sim_device(self, unit_id: int) -> SimDevice:
        coils, inputs, holding, registers = (_block(self.sim.points, t) for t in TABLE_ORDER)
        blocks = (coils, inputs, holding, registers)
        return SimDevice(id=unit_id, simdata=blocks, action=self.handle)

    async def handle(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        sim = self.sim
        if Fault.OFFLINE in sim.faults:
            raise NoSuchIdException(f"{sim.id} is offline")  # no answer: the client times out
        if Fault.MODBUS_EXCEPTION in sim.faults:
            return ExcCodes(sim.exception_code)
        table = FC_TABLE.get(function_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        if table.is_bit and address not in self.bits[table]:
            return ExcCodes.ILLEGAL_ADDRESS
        if values is not None and not sim.write(table, address, [int(v) for v in values]):
            return ExcCodes.ILLEGAL_ADDRESS
        image = sim.image()[table]
        if table.is_bit:
            # `registers` packs 16 bits per word, bit 0 first; `start_address` counts words.
            packed: dict[int, int] = {}
            for bit_address, bit in image.items():
                word = bit_address // 16 - start_address
                packed[word] = packed.get(word, 0) | (bit & 1) << (bit_address % 16)
            for word in range(len(registers) - 1):
                registers[word] = packed.get(word, 0)
        else:
            for register, value in image.items():
                registers[register - start_address] = value
        return None


async def _refuse(
    function_code: int,
    start_address: int,
    address: int,
    count: int,
    registers: list[int],
    values: list[int] | list[bool] | None,
) -> ExcCodes | None:
    return UNKNOWN_UNIT_CODE


@dataclass
class Endpoint:
    """One listening address and the units behind it."""

    host: str
    port: int
    units: dict[int, DeviceSim] = field(default_factory=dict)


def endpoints(sims: Iterable[DeviceSim]) -> list[Endpoint]:
    """Group the Modbus TCP devices by their configured host and port."""
    by_address: dict[tuple[str, int], Endpoint] = {}
    for sim in sims:
        conn = sim.device.connection
        if not isinstance(conn, ModbusTcp):
            continue
        endpoint = by_address.setdefault((conn.host, conn.port), Endpoint(conn.host, conn.port))
        if conn.unit_id in endpoint.units:
            other = endpoint.units[conn.unit_id].id
            raise SimulatorError(
                f"{sim.id} and {other} both use unit {conn.unit_id} at {conn.host}:{conn.port}"
            )
        endpoint.units[conn.unit_id] = sim
    return list(by_address.values())


class ModbusServers:
    """Every Modbus TCP server of an estate, as one async context manager.

    `bind_host` replaces the configured hosts (the CLI binds 127.0.0.1 by default)."""

    def __init__(self, sims: Iterable[DeviceSim], *, bind_host: str | None = None) -> None:
        sims = list(sims)
        for sim in sims:
            if isinstance(sim.device.connection, ModbusRtu):
                log.warning("%s is on a serial line (Modbus RTU): not served", sim.id)
        self.endpoints = endpoints(sims)
        self.bind_host = bind_host
        self.handlers: dict[str, UnitHandler] = {}
        self._stack = AsyncExitStack()
        bound = [(bind_host or e.host, e.port) for e in self.endpoints]
        if len(set(bound)) != len(bound):
            raise SimulatorError(
                f"devices at different hosts share a port once bound to {bind_host}:"
                " give them distinct ports (the test harness relocates them for you)"
            )

    async def __aenter__(self) -> ModbusServers:
        try:
            for endpoint in self.endpoints:
                await self._start(endpoint)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def _start(self, endpoint: Endpoint) -> None:
        devices = []
        for unit_id, sim in sorted(endpoint.units.items()):
            handler = UnitHandler(sim)
            self.handlers[sim.id] = handler
            devices.append(handler.sim_device(unit_id))
        if 0 not in endpoint.units:
            devices.append(
                SimDevice(
                    id=0,
                    simdata=SimData(0, values=[0], datatype=DataType.REGISTERS),
                    action=_refuse,
                )
            )
        host = self.bind_host or endpoint.host
        server = ModbusTcpServer(
            devices, address=(host, endpoint.port), ignore_missing_devices=True
        )
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:
            raise SimulatorError(f"cannot listen on {host}:{endpoint.port}: {exc}") from exc
        self._stack.push_async_callback(server.shutdown)
        units = ", ".join(f"{u}={s.id}" for u, s in sorted(endpoint.units.items()))
        log.info("Modbus TCP on %s:%d serving units %s", host, endpoint.port, units)
