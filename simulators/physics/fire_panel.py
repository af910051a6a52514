"""A fire alarm control panel (火灾报警控制器) as its user-information transmission device
(用户信息传输装置, GB 26875) shows it over Modbus.

The panel reports, each as a flag, a count and the code of the first zone in that state:
fire alarms (火警), faults (故障), supervisory signals (监管) and isolations (屏蔽); and the
linkage (联动) it started with the feedback of the equipment it started. The zone codes are
the register map's `enum` of `fire_zone` (code: location); without one the panel has a zone
per loop. A fire alarm starts the automatic linkage (smoke extraction, fire shutters) after
`LINKAGE_DELAY` and the equipment answers `FEEDBACK_DELAY` later.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from random import Random

from estatewatch.config import FirePanel, RegisterMap
from estatewatch.contracts.payloads import Scalar
from simulators.faults import Fault

LINKAGE_DELAY = 10.0  # s: fire alarm to automatic linkage start
FEEDBACK_DELAY = 5.0  # s: linkage start to the equipment's feedback
ZONE_POINT = "fire_zone"

_STATES = {
    Fault.FIRE_ALARM: "fire",
    Fault.PANEL_FAULT: "fault",
    Fault.SUPERVISORY: "supervisory",
    Fault.ISOLATION: "isolation",
}


def zone_codes(device: FirePanel, register_map: RegisterMap | None) -> list[int]:
    """The panel's zone codes: those of the register map's `fire_zone` enum, else one per
    loop (loop × 100 + 1)."""
    if register_map is not None:
        for point in register_map.points:
            if point.name == ZONE_POINT and point.enum:
                return sorted(code for code in point.enum if code != 0)
    return [loop * 100 + 1 for loop in range(1, device.loops + 1)]


class FirePanelModel:
    def __init__(
        self,
        device: FirePanel,
        register_map: RegisterMap | None,
        rng: Random,
        now: datetime,
        tz: tzinfo,
    ) -> None:
        self.rng = rng
        self.zones = zone_codes(device, register_map)
        self.faults: set[Fault] = set()
        self.zone: dict[str, int] = {}  # state -> the zone in it
        self.fire_for = 0.0  # seconds since the fire alarm
        self.manual_linkage = False
        self.battery = rng.uniform(26.6, 27.4)  # the panel's backup battery, V

    def set_fault(self, fault: Fault, active: bool) -> None:
        if active:
            self.faults.add(fault)
        else:
            self.faults.discard(fault)
        state = _STATES.get(fault)
        if state is not None:
            if active:
                self.zone[state] = self.rng.choice(self.zones)
            else:
                self.zone.pop(state, None)
        if fault is Fault.FIRE_ALARM:
            self.fire_for = 0.0
        elif fault is Fault.LINKAGE_FAIL:
            self.manual_linkage = active  # started by hand from the panel: no feedback

    def write(self, name: str, value: Scalar) -> bool:
        return False

    def step(self, now: datetime, dt: float) -> None:
        if Fault.FIRE_ALARM in self.faults:
            self.fire_for += max(dt, 0.0)

    def values(self) -> dict[str, Scalar]:
        values: dict[str, Scalar] = {}
        for state in _STATES.values():
            zone = self.zone.get(state, 0)
            values[state if state != "fire" else "fire_alarm"] = zone != 0
            values[f"{state}_count"] = 1 if zone else 0
            values[f"{state}_zone"] = zone
        auto = Fault.FIRE_ALARM in self.faults and self.fire_for >= LINKAGE_DELAY
        started = auto or self.manual_linkage
        answered = (
            auto
            and Fault.LINKAGE_FAIL not in self.faults
            and self.fire_for >= LINKAGE_DELAY + FEEDBACK_DELAY
        )
        values["linkage_start"] = started
        values["linkage_feedback"] = answered
        values["main_power_ok"] = True
        values["backup_battery"] = round(self.battery, 1)
        return values
