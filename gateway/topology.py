"""Which devices share a connection, checked before anything is polled.

Devices at one TCP address share a hub (a serial-to-TCP converter with several unit ids);
devices on one serial port share a bus, which has one speed and framing. Two devices at the
same address and unit id would read each other's registers: a configuration error.
"""

from __future__ import annotations

from datetime import timedelta

from estatewatch.clock import Clock
from estatewatch.config import ModbusRtu, ModbusTcp, SiteConfig
from estatewatch.errors import ConfigError, ConfigIssue
from gateway.modbus import ModbusHub, client_factory, hub_key


def modbus_devices(site: SiteConfig) -> list[tuple[int, ModbusTcp | ModbusRtu]]:
    """(index in `site.devices`, connection) of every Modbus device."""
    return [
        (i, d.connection)
        for i, d in enumerate(site.devices)
        if isinstance(d.connection, ModbusTcp | ModbusRtu)
    ]


def check_topology(site: SiteConfig, source: str = "site") -> None:
    """Raise `ConfigError` naming every device whose connection clashes with another's."""
    issues: list[ConfigIssue] = []
    units: dict[tuple[str, int], str] = {}
    buses: dict[str, tuple[ModbusRtu, str]] = {}
    for index, conn in modbus_devices(site):
        device = site.devices[index].id
        key = hub_key(conn)
        other = units.get((key, conn.unit_id))
        if other is not None:
            issues.append(
                ConfigIssue(source, None, None, f"devices.{index}.connection.unit_id",
                            f"{device} and {other} are both unit {conn.unit_id} at {key}")
            )  # fmt: skip
        units[(key, conn.unit_id)] = device
        if isinstance(conn, ModbusRtu):
            first = buses.setdefault(conn.serial_port, (conn, device))
            settings = ("baudrate", "parity", "bytesize", "stopbits")
            differing = [s for s in settings if getattr(conn, s) != getattr(first[0], s)]
            if differing:
                issues.append(
                    ConfigIssue(source, None, None, f"devices.{index}.connection",
                                f"{device} sets {', '.join(differing)} of bus {conn.serial_port}"
                                f" differently from {first[1]}: a bus has one setting")
                )  # fmt: skip
    if issues:
        raise ConfigError(issues)


def build_hubs(site: SiteConfig, clock: Clock) -> dict[str, ModbusHub]:
    """One hub per TCP address or serial port; its timeout is the longest of its devices'."""
    hubs: dict[str, ModbusHub] = {}
    timeouts: dict[str, float] = {}
    first: dict[str, ModbusTcp | ModbusRtu] = {}
    for _, conn in modbus_devices(site):
        key = hub_key(conn)
        first.setdefault(key, conn)
        timeouts[key] = max(timeouts.get(key, 0.0), conn.timeout.total_seconds())
    for key, conn in first.items():
        longest = conn.model_copy(update={"timeout": timedelta(seconds=timeouts[key])})
        hubs[key] = ModbusHub(key, client_factory(longest), timeout=timeouts[key], clock=clock)
    return hubs
