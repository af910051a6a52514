"""A gateway's uplink as a root alarm (issue #23 item 4): when the gateway goes offline
(its last will), the offline alarms of its devices are children of one gateway alarm, and
when it is back they clear as children — or, still silent, are released on their own."""

from __future__ import annotations

from estatewatch.clock import to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import AlarmEvent, AlarmEventType, GatewayState
from rules.gateways import RECOVERY_MS
from tests.dates import utc
from tests.rules.scenario import Scenario, scenario

AFTERNOON = utc(0, 7)  # 15:00 in Shanghai


def _state(s: Scenario, state: str, *, since: int, last_will: bool = False) -> GatewayState:
    return GatewayState(
        site=s.site.site.id,
        gateway=s.site.gateway.id,
        state=state,  # type: ignore[arg-type]
        ts=since if last_will else s.now,
        since=since,
        last_will=last_will,
    )


def _raised(events: list[AlarmEvent]) -> list[AlarmEvent]:
    return [e for e in events if e.event is AlarmEventType.RAISED]


async def test_a_gateway_offline_is_one_root_with_its_devices_offline_as_children(
    example_site: SiteConfig,
) -> None:
    async with scenario(example_site, AFTERNOON) as s:
        since = to_epoch_ms(s.estate.now)
        s.feed(_state(s, "online", since=since))
        s.run(30)
        assert s.raised() == [], s.summary()
        # The uplink drops; a keep-alive and a half later the broker says so.
        s.run(45, poll=False)
        (root,) = s.feed(_state(s, "offline", since=since, last_will=True))
        assert (root.rule, root.target, root.target_kind) == (
            "gateway.offline", f"gateway:{s.site.gateway.id}", "gateway"
        )  # fmt: skip
        assert root.parent_alarm_id is None
        assert root.details["last_will"] is True
        assert s.feed(_state(s, "offline", since=since, last_will=True)) == []  # retained again
        s.run(60, poll=False)
        children = _raised(s.events[s.events.index(root) + 1 :])
        modbus = {d.id for d in s.site.devices if d.kind != "sensor"}
        assert {e.target for e in children if e.rule == "device.offline"} == modbus
        assert {e.parent_alarm_id for e in children} == {root.alarm_id}, s.summary()
        assert s.raised().count(("gateway.offline", root.target)) == 1

        # Back: readings flow again, the devices' alarms clear as children, then the root.
        s.estate.inject("pump-fire", "offline")  # except this one's controller
        s.feed(_state(s, "online", since=since + 120_000))
        s.run(RECOVERY_MS / 1000 + 2)
        assert ("gateway.offline", root.target) not in s.active()
        released = [e for e in s.events if e.details.get("released_from") == root.alarm_id]
        assert [(e.rule, e.target) for e in released] == [("device.offline", "pump-fire")]
        assert all(e.parent_alarm_id is None and e.active for e in released)
        cleared = {e.target for e in s.events if e.event is AlarmEventType.CLEARED}
        assert modbus - {"pump-fire"} <= cleared, s.summary()


async def test_an_older_run_s_last_will_raises_nothing(example_site: SiteConfig) -> None:
    async with scenario(example_site, AFTERNOON) as s:
        since = to_epoch_ms(s.estate.now)
        s.feed(_state(s, "online", since=since))
        # The last will of the run before this one, retained and delivered late.
        assert s.feed(_state(s, "offline", since=since - 60_000, last_will=True)) == []
        s.run(5)
        assert s.raised() == [], s.summary()
