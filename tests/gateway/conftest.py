"""Fixtures of the gateway's tests: a simulated estate and a gateway polling it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from estatewatch.config import Bacnet, ModbusTcp, SiteConfig
from gateway.service import Gateway, GatewayOptions

_ids = itertools.count()
KEYS = {f"HANDHELD_HH0{n}_KEY": f"{n:02x}" * 16 for n in range(1, 5)}
"""The example site's handheld keys (hex), as the environment would hold them."""


def fast(site: SiteConfig, interval: float = 0.2, timeout: float = 0.3) -> SiteConfig:
    """The site with every Modbus and BACnet device polled every `interval` s, timing out
    after `timeout` s, so faults show within a second or two."""
    devices = []
    for device in site.devices:
        if isinstance(device.connection, ModbusTcp | Bacnet):
            conn = device.connection.model_copy(update={"timeout": timedelta(seconds=timeout)})
            device = device.model_copy(
                update={"connection": conn, "poll_interval": timedelta(seconds=interval)}
            )
        devices.append(device)
    return site.model_copy(update={"devices": devices})


@asynccontextmanager
async def running_gateway(
    site: SiteConfig,
    url: str,
    tmp_path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    **options: Any,
) -> AsyncIterator[Gateway]:
    defaults: dict[str, Any] = {
        "buffer_path": str(tmp_path / f"gateway-{next(_ids)}.db"),
        "client_id": f"gw-test-{next(_ids)}",
        "max_delay": 0.05,
    }
    settings = GatewayOptions(central_url=url, **{**defaults, **options})
    async with Gateway(site, settings, environ=KEYS if environ is None else environ) as gateway:
        yield gateway
