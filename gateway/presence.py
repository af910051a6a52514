"""The gateway's retained `GatewayState` on the central broker: `online` on each connection,
`offline` on a clean stop and as the last will. The will is fixed at the start of the run and
no broker stamps it when it fires, so every state of a run carries the run's `since` and the
will says `last_will`: consumers order by `since`, never by a will's `ts` (docs/contracts.md)."""

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
        self.since = to_epoch_ms(clock.now())

    def state(self, online: bool, *, last_will: bool = False) -> GatewayState:
        return GatewayState(
            site=self.site,
            gateway=self.gateway,
            state="online" if online else "offline",
            ts=self.since if last_will else to_epoch_ms(self.clock.now()),
            version=f"{__version__} on {socket.gethostname()}"[:256],
            since=self.since,
            last_will=last_will,
        )

    def will(self) -> Will:
        """What the broker publishes for us when the connection drops."""
        return Will(self.topic, self.state(False, last_will=True).to_bytes())

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
