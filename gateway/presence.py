"""The gateway's retained `GatewayState` on the central broker: `online` on each connection,
`offline` as the connection's last will and on a clean stop."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from estatewatch import __version__
from estatewatch.clock import Clock, to_epoch_ms
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import GatewayState
from estatewatch.mqtt import MqttClient, Will

OFFLINE_TIMEOUT_S = 2.0


class Presence:
    def __init__(self, *, site: str, gateway: str, clock: Clock) -> None:
        self.site = site
        self.gateway = gateway
        self.clock = clock
        self.topic = topics.gateway_state(site, gateway)

    def state(self, online: bool) -> GatewayState:
        return GatewayState(
            site=self.site,
            gateway=self.gateway,
            state="online" if online else "offline",
            ts=to_epoch_ms(self.clock.now()),
            version=f"{__version__} on {socket.gethostname()}"[:256],
        )

    def will(self) -> Will:
        """What the broker publishes for us when the connection drops."""
        return Will(self.topic, self.state(False).to_bytes())

    def online(self, client: MqttClient) -> None:
        """On each connection (a failed publish is left to the next connection)."""
        future = client.publish_nowait(self.topic, self.state(True).to_bytes(), retain=True)
        future.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def offline(self, client: MqttClient) -> None:
        """On a clean stop, while still connected; best effort, the will covers the rest."""
        if not client.connected.is_set():
            return
        with contextlib.suppress(Exception):
            offline = self.state(False).to_bytes()
            await asyncio.wait_for(
                client.publish(self.topic, offline, retain=True), OFFLINE_TIMEOUT_S
            )
