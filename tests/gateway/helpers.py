"""Test helpers of the gateway's integration tests: a central subscriber, site tweaks."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any

from estatewatch.config import ModbusTcp, MqttSensor, SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.codec import decode_any
from estatewatch.contracts.payloads import Payload
from estatewatch.mqtt import MqttClient, MqttSettings

_ids = itertools.count(1)


def unique_gateway(site: SiteConfig) -> SiteConfig:
    """The site with a gateway id of its own, so topics and sessions don't mix across tests."""
    gateway = site.gateway.model_copy(update={"id": f"gw-test-{next(_ids)}-{uuid.uuid4().hex[:6]}"})
    return site.model_copy(update={"gateway": gateway})


def quick(site: SiteConfig, *, interval: float = 0.25, timeout: float = 0.2) -> SiteConfig:
    """Modbus devices polled every `interval` s with a `timeout` s timeout (tests run fast)."""
    devices = []
    for device in site.devices:
        if isinstance(device.connection, ModbusTcp):
            conn = device.connection.model_copy(update={"timeout": timedelta(seconds=timeout)})
            device = device.model_copy(
                update={"connection": conn, "poll_interval": timedelta(seconds=interval)}
            )
        devices.append(device)
    return site.model_copy(update={"devices": devices})


async def prime_site_session(url: str, site: SiteConfig) -> None:
    """Create the gateway's persistent site session before the sensors publish, so the first
    sensor messages wait at the broker for the gateway (as on a real site after a restart)."""
    settings = MqttSettings(
        url=url,
        client_id=f"ew-gw-{site.gateway.id}-site",
        clean_start=False,
        session_expiry=3600,
    )
    async with MqttClient(settings) as client:
        for device in site.devices:
            if isinstance(device.connection, MqttSensor):
                await client.subscribe(device.connection.topic)
        await client.subscribe(topics.handheld_filter(site.site.id))


@dataclass
class Central:
    """What the central side receives from one gateway (a persistent session)."""

    url: str
    site: str
    client_id: str = field(default_factory=lambda: f"central-{uuid.uuid4().hex[:8]}")
    messages: list[tuple[str, Payload]] = field(default_factory=list)
    _client: MqttClient | None = None
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Central:
        settings = MqttSettings(
            url=self.url, client_id=self.client_id, clean_start=False, session_expiry=3600
        )
        self._client = await MqttClient(settings).__aenter__()
        await self._client.subscribe(f"ew/v1/{self.site}/#", qos=1)
        self._task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._client is not None:
            await self._client.__aexit__(et, e, tb)

    async def _collect(self) -> None:
        assert self._client is not None
        async for message in self._client.messages():
            if topics.parse(message.topic) is None:
                continue
            self.messages.append((message.topic, decode_any(message.topic, message.payload)))

    def of(self, kind: type[Any]) -> list[Any]:
        return [m for _, m in self.messages if isinstance(m, kind)]

    async def wait_for(self, check: Callable[[], Any], within: float = 15.0) -> Any:
        """Poll `check` until it returns something truthy (bounded in time)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            result = check()
            if result:
                return result
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out after {within}s waiting for {check}")
