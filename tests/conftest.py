"""Fixtures shared by every test: real services on free loopback ports, fake clocks.

A missing server binary fails the run (never a silent skip): the test command installs them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from estatewatch.clock import FakeClock
from estatewatch.config import SiteConfig, load_site
from estatewatch.testing.nats import NatsCluster
from estatewatch.testing.services import InfluxDB, Mosquitto

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SITE = ROOT / "examples" / "estate.yaml"


@pytest.fixture(scope="session")
def example_site() -> SiteConfig:
    return load_site(EXAMPLE_SITE)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A real Mosquitto per test module: persistent sessions and shared-subscription members
    one module leaves behind must not take messages meant for another. Tests that stop or
    restart it use `own_mosquitto`."""
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker of this test's own, free to be stopped, killed and restarted."""
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.workdir.mkdir()
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    server = InfluxDB(tmp_path_factory.mktemp("influxdb"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_influxdb(tmp_path: Path) -> Iterator[InfluxDB]:
    """An InfluxDB of this test's own, free to be stopped and restarted."""
    server = InfluxDB(tmp_path / "influxdb")
    server.workdir.mkdir()
    server.start()
    yield server
    server.stop()


_db_numbers = itertools.count(1)


@pytest.fixture
def influx_db(influxdb: InfluxDB) -> str:
    """A fresh, empty database on the session's InfluxDB."""
    name = f"test_{next(_db_numbers)}"
    influxdb.create_database(name)
    return name


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """A real 3-node NATS JetStream cluster of this test's own (MQTT listener on every node),
    free to lose a node: `kill(i)`, `restart(i)`."""
    cluster = NatsCluster(tmp_path / "nats")
    cluster.start()
    yield cluster
    cluster.stop()
