"""Readings sent by exception: a point held steady is sent once a minute, the gateway says
the device is online every health interval; the engine keeps the held value and raises no
deadman, and a change beyond the deadband still raises at once."""

from __future__ import annotations

from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import DeviceState
from tests.rules.driver import Driver


def test_a_silent_but_steady_meter_is_not_offline_and_its_held_value_counts(
    example_site: SiteConfig,
) -> None:
    d = Driver(example_site)
    d.status("meter-t1", DeviceState.ONLINE)
    d.reading("meter-t1", current_l1=500.0, current_l2=510.0, current_l3=505.0, energy=1.0)
    for second in range(1, 601):  # ten minutes of estate time, ticked every second
        d.tick(1.0)
        if second % 60 == 0:  # max_silence: the steady values again, once a minute
            d.reading("meter-t1", current_l1=500.0, current_l2=510.0, current_l3=505.0)
        elif second % 30 == 0:  # the gateway's periodic status of an online device
            d.status("meter-t1", DeviceState.ONLINE)
        elif second % 7 == 0:  # only the energy counter moved beyond its deadband
            d.reading("meter-t1", energy=1.0 + second / 100)
    assert [e for e in d.events if e.target == "meter-t1"] == []  # the others: never seen
    runtime = d.state.sites[d.site_id].devices["meter-t1"]
    assert runtime.values["current_l2"] == 510.0  # held between the minutes
    # A change beyond the deadband arrives at once and is judged with the held ones.
    d.reading("meter-t1", current_l2=1300.0)
    raised = d.tick(30.0)
    raised += d.status("meter-t1", DeviceState.ONLINE)
    raised += d.tick(31.0)
    assert [(e.rule, e.target) for e in raised if e.target == "meter-t1"] == [
        ("meter.overload", "meter-t1")
    ]
