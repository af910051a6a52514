"""An MQTT broker inside the process, for `estatewatch up` on embedded defaults.

amqtt speaks MQTT 3.1.1 only, so clients reach it with `?version=3.1.1` in the URL; it keeps
persistent sessions (clean session false) and their QoS 1 messages while the process lives.
Production runs Mosquitto (docker-compose.yml); this is the zero-install path.
"""

from __future__ import annotations

import logging
from types import TracebackType

from estatewatch.errors import EstateWatchError


class BrokerError(EstateWatchError):
    """The embedded broker could not start."""


class EmbeddedBroker:
    """amqtt on `host:port` while the block runs; port 0: one the OS picks (then `port`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host = host
        self.port = port
        self._broker: object | None = None

    @property
    def url(self) -> str:
        # amqtt keeps sessions only for clients that give a username.
        return f"mqtt://estatewatch@{self.host}:{self.port}?version=3.1.1"

    async def __aenter__(self) -> EmbeddedBroker:
        from amqtt.broker import Broker

        # amqtt logs every connection at INFO and warns of PUBACKs for messages it replayed
        # to a returning session; the duty room needs none of that.
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.ERROR)
        broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
                "session_expiry_interval": 7 * 86400,
                "plugins": {
                    # Clients must give a username (any): amqtt keeps no session for anonymous ones.
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False}
                },
            }
        )
        try:
            await broker.start()
        except Exception as exc:  # amqtt wraps bind errors in its own types
            raise BrokerError(f"embedded MQTT broker on {self.host}:{self.port}: {exc}") from exc
        self._broker = broker
        if self.port == 0:  # the port the OS picked
            server = broker._servers["default"].instance  # amqtt keeps no public handle on it
            self.port = int(server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._broker is not None:
            await self._broker.shutdown()  # type: ignore[attr-defined]
            self._broker = None
