"""What the gateway makes of each kind of BACnet answer: pure, no network."""

from __future__ import annotations

import pytest
from bacpypes3.basetypes import BinaryPV, EngineeringUnits, ErrorType
from bacpypes3.primitivedata import Boolean, CharacterString, Real, Unsigned

from estatewatch.codec import Value
from gateway.bacnet_link import PointError, Ref, to_value, unit_name

ANALOG = Ref("analog-input", 1, "present-value")
BINARY = Ref("binary-input", 1, "present-value")
MULTI = Ref("multi-state-value", 1, "present-value")


@pytest.mark.parametrize(
    ("raw", "ref", "expected"),
    [
        (Real(14.2), ANALOG, 14.2),  # a 32-bit float's 7 digits, not 14.199999809265137
        (Real(-3.25), ANALOG, -3.25),
        (BinaryPV("active"), BINARY, True),
        (BinaryPV("inactive"), BINARY, False),
        (Unsigned(3), MULTI, 3),
        (Boolean(True), Ref("analog-input", 1, "out-of-service"), True),
        (CharacterString("AHU-1"), Ref("analog-input", 1, "description"), "AHU-1"),
    ],
    ids=["real", "negative", "active", "inactive", "multi-state", "boolean", "string"],
)
def test_an_answer_becomes_a_plain_value(raw: object, ref: Ref, expected: Value) -> None:
    value = to_value(raw, ref)
    assert value == expected
    assert type(value) is type(expected)


def test_an_error_answer_is_a_point_error_saying_why() -> None:
    error = ErrorType(errorClass="object", errorCode="unknownObject")
    value = to_value(error, ANALOG)
    assert isinstance(value, PointError)
    assert "unknown-object" in str(value)


def test_units_are_named_as_bacnet_names_them() -> None:
    assert unit_name(EngineeringUnits("degreesCelsius")) == "degrees-celsius"
    assert unit_name(Real(1.0)) is None
