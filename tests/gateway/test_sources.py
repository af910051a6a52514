"""The source registry: names, and an unknown name refused with the known ones."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import replace

import pytest

from estatewatch.clock import FakeClock
from estatewatch.config import SiteConfig
from gateway.patrol import PatrolIntake
from gateway.scan_memory import ScanMemory
from gateway.scans import ScanValidator
from gateway.schedule import PollStats
from gateway.sources import SOURCES, Resources, SourceContext, make_source


def test_the_registry_names_every_source_in_build_order() -> None:
    assert list(SOURCES) == ["handheld-scans", "modbus", "mqtt-sensors", "dlt645", "bacnet"]


async def test_an_unknown_source_is_refused(example_site: SiteConfig) -> None:
    clock = FakeClock()
    validator = ScanValidator(example_site, {}, ScanMemory(), gateway="gw")
    async with AsyncExitStack() as stack:
        context = SourceContext(
            site=example_site,
            clock=clock,
            trackers={},
            stats=PollStats(),
            patrol=PatrolIntake(validator, clock),
            resources=Resources(stack),
            site_url="mqtt://127.0.0.1:1",
            client_id="gw-test",
        )
        with pytest.raises(ValueError, match="unknown source 'knx'; known: handheld-scans"):
            await make_source("knx", context)
        empty = replace(context, site=example_site.model_copy(update={"devices": []}))
        assert await make_source("modbus", empty) is None
        assert await make_source("mqtt-sensors", empty) is None
        assert await make_source("bacnet", empty) is None
