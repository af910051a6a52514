"""The northbound messages built from the gateway's state (status, health, dead letters)."""

from __future__ import annotations

from functools import partial

from estatewatch.contracts import topics
from estatewatch.contracts.payloads import DeadLetter, DeviceStatus, GatewayHealth
from gateway.outbox import Outgoing
from gateway.poller import DevicePoller


def status_message(site: str, gateway: str, poller: DevicePoller, now_ms: int) -> Outgoing | None:
    """The retained `DeviceStatus` of a device, once its first polls decided a state."""
    health = poller.health
    if health.state is None:
        return None
    device = poller.device
    status = DeviceStatus(
        site=site,
        gateway=gateway,
        seq=0,
        device=device.id,
        kind=device.kind,
        building=device.building,
        room=device.room,
        state=health.state,
        ts=now_ms,
        since=health.since_ms,
        last_seen=health.last_seen_ms,
        consecutive_failures=health.consecutive_failures,
        last_error=health.last_error,
    )
    topic = topics.device_status(site, device.id)
    return Outgoing("device_status", topic, partial(_with_seq, status), retain=True)


def health_message(health: GatewayHealth) -> Outgoing:
    topic = topics.gateway_health(health.site, health.gateway)
    return Outgoing("gateway_health", topic, partial(_with_seq, health))


def dead_letter(
    site: str, gateway: str, topic: str, reason: str, payload: bytes, now_ms: int
) -> Outgoing:
    letter = DeadLetter(
        component=gateway,
        source_topic=topic[:1024],
        reason=reason[:4000],
        received_at=now_ms,
        payload_bytes=len(payload),
        payload=payload[:4096].decode("utf-8", errors="replace")[:4096],
    )
    return Outgoing("deadletter", topics.deadletter(site, gateway), lambda seq: letter.to_bytes())


def _with_seq(message: DeviceStatus | GatewayHealth, seq: int) -> bytes:
    return message.model_copy(update={"seq": seq}).to_bytes()
