"""The site file's BACnet models: a bad point is refused naming the point."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from estatewatch.config import Bacnet, BacnetPort


def connection(**changes: Any) -> dict[str, Any]:
    return {
        "protocol": "bacnet",
        "device_instance": 3001,
        "address": "10.20.0.31",
        "points": [
            {"name": "supply_air_temp", "object_type": "analog-input", "instance": 1},
            {"name": "fan_status", "object_type": "binary-input", "instance": 1},
        ],
        **changes,
    }


def test_a_device_with_points_is_taken_with_its_defaults() -> None:
    conn = Bacnet.model_validate(connection())
    assert conn.points[0].property == "present-value"
    assert conn.points[0].unit is None  # from the device
    assert conn.cov is True
    assert Bacnet.model_validate(connection(address=None)).address is None  # Who-Is


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"points": [{"name": "sat", "object_type": "analog-inptu", "instance": 1}]},
            "point 'sat': object_type 'analog-inptu' is not one of",
        ),
        (
            {"points": [{"name": "sat", "object_type": "analog-input", "instance": 1,
                         "property": "presentValue"}]},
            "point 'sat': property 'presentValue' is not a BACnet property name",
        ),
        (
            {"points": [{"name": "a", "object_type": "analog-input", "instance": 1},
                        {"name": "a", "object_type": "analog-input", "instance": 2}]},
            "point 'a' is named twice",
        ),
        (
            {"points": [{"name": "a", "object_type": "analog-input", "instance": 1},
                        {"name": "b", "object_type": "analog-input", "instance": 1}]},
            "point 'a': analog-input,1 present-value is read by another point",
        ),
        ({"address": "10.20.0.300"}, "address '10.20.0.300' is not an IPv4 address"),
        ({"device_instance": 4194303}, "less than or equal to 4194302"),
    ],
)  # fmt: skip
def test_a_bad_device_is_refused_saying_where(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Bacnet.model_validate(connection(**change))


def test_the_gateway_port_and_its_bbmd() -> None:
    port = BacnetPort.model_validate({"bbmd": "10.1.0.1:47808", "bbmd_ttl": "10m"})
    assert port.address == "0.0.0.0:47808"
    assert port.bbmd_ttl.total_seconds() == 600
    with pytest.raises(ValidationError, match="bbmd_ttl must be between"):
        BacnetPort.model_validate({"bbmd": "10.1.0.1", "bbmd_ttl": "70000s"})
