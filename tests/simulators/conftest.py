"""Fixtures of the simulators' tests: a whole estate on loopback under a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from estatewatch.clock import FakeClock
from estatewatch.config import SiteConfig
from simulators.estate import SimulatedEstate
from simulators.harness import run_estate


@pytest.fixture
async def estate(example_site: SiteConfig, fake_clock: FakeClock) -> AsyncIterator[SimulatedEstate]:
    """The example estate served on free loopback ports; time moves only when told."""
    async with run_estate(example_site, seed=7, clock=fake_clock) as running:
        yield running


@pytest.fixture
def physics_estate(example_site: SiteConfig, fake_clock: FakeClock) -> SimulatedEstate:
    """The example estate's physics alone: no servers (pure tests of values and faults)."""
    return SimulatedEstate(example_site, clock=fake_clock, seed=7)
