"""Fixtures of the notification tests: real receivers on 127.0.0.1 and a clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from estatewatch.clock import FakeClock, to_epoch_ms
from tests.notify.receivers import MailServer, VendorReceiver, self_signed

SECRETS = {
    "webhook": "wh-secret-9f2c",
    "dingtalk": "SEC1a2b3c4d5e6f",
    "feishu": "fs-secret-77",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def receiver(clock: FakeClock) -> Iterator[VendorReceiver]:
    server = VendorReceiver(now_ms=lambda: to_epoch_ms(clock.now()), secrets=dict(SECRETS))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(params=["starttls", "ssl"])
def mail_server(
    request: pytest.FixtureRequest, tls_files: tuple[Path, Path]
) -> Iterator[MailServer]:
    cert, key = tls_files
    server = MailServer(request.param, cert, key, user="ew-notify", password="smtp-pass")
    server.controller.start()
    yield server
    server.controller.stop()


# The API tests' databases: a migrated SQLite file, and a real PostgreSQL 15.
from tests.api.conftest import db, postgres  # noqa: E402, F401

ENV = {"DING": SECRETS["dingtalk"], "WH": SECRETS["webhook"], "FS": SECRETS["feishu"]}
