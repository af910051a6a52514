"""Root cause, not a storm (issue #23): a power room's outage stops what it feeds, and
the engine raises one root alarm with the rest as its children, then releases the children
still active when the supply returns."""

from __future__ import annotations

from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import AlarmEvent, AlarmEventType
from tests.dates import utc
from tests.rules.scenario import scenario

AFTERNOON = utc(0, 7)  # 15:00 in Shanghai


def _raised(events: list[AlarmEvent]) -> list[AlarmEvent]:
    return [e for e in events if e.event is AlarmEventType.RAISED]


async def test_an_outage_is_one_root_with_its_fed_devices_as_children(
    example_site: SiteConfig,
) -> None:
    async with scenario(example_site, AFTERNOON) as s:
        s.run(60)
        assert s.raised() == [], s.summary()
        s.estate.inject("power-room-1", "outage")
        s.run(90)
        raised = _raised(s.events)
        roots = [e for e in raised if e.parent_alarm_id is None]
        assert [(e.rule, e.target) for e in roots] == [("power.outage", "power-room-1")]
        children = [e for e in raised if e.parent_alarm_id is not None]
        assert {e.parent_alarm_id for e in children} == {roots[0].alarm_id}
        targets = {e.target for e in children}
        assert "pump-domestic-high" in targets  # no UPS: its controller went offline
        assert "pump-domestic-low" in targets  # on a UPS: its pressure fell
        assert targets <= set(s.estate.feeds["power-room-1"]) | {"t1", "t2"}, s.summary()
        assert "generator-1" not in targets  # it started, as it should: no alarm
        assert s.estate.values("generator-1")["running"] is True

        before = len(s.events)
        s.estate.clear("power-room-1", "outage")
        s.run(60)
        after = s.events[before:]
        released = [
            e for e in after if e.event is AlarmEventType.UPDATED and e.details.get("released_from")
        ]
        still = {(a.rule, a.target) for a in children if (a.rule, a.target) in s.active()}
        assert {(e.rule, e.target) for e in released} >= still
        assert all(e.parent_alarm_id is None for e in released)
