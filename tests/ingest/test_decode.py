"""Decoding MQTT payloads into line protocol: the contract decides, the fast path agrees."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from estatewatch.contracts import topics
from estatewatch.contracts.examples import EXAMPLES
from estatewatch.contracts.payloads import MAX_PAYLOAD_BYTES, TelemetryBatch
from estatewatch.errors import PayloadError
from ingest.decode import decode_health, decode_status, decode_telemetry, fast_telemetry
from ingest.points import reading_line
from tests.ingest.lp import Point, parse_lines

SITE, GW = "harbour-view", "gw-harbour-1"
TOPIC = topics.telemetry(SITE, GW)
_parts = topics.parse(TOPIC)
assert _parts is not None
PARTS = _parts


def reading(**over: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "device": "pump-1",
        "kind": "water_pump_set",
        "building": "podium",
        "room": "pump-room",
        "ts": 1_793_664_000_000,
        "values": {"outlet_pressure": 0.45, "pump1_running": True, "fault_code": 0},
    }
    r.update(over)
    return r


def batch(*readings: dict[str, Any], **over: Any) -> bytes:
    doc: dict[str, Any] = {"site": SITE, "gateway": GW, "seq": 1, "readings": list(readings)}
    doc.update(over)
    return orjson.dumps(doc)


def points(data: bytes) -> list[Point]:
    return parse_lines(decode_telemetry(TOPIC, PARTS, data).lines)


def test_the_contract_example_becomes_points_with_the_documented_schema() -> None:
    example = EXAMPLES["telemetry"]
    got = points(example.to_bytes())
    assert got == [
        Point(
            "water_pump_set",
            {"building": "podium", "device": "pump-domestic-low", "room": "pump-room",
             "site": SITE},
            {"outlet_pressure": 0.452, "vfd_frequency": 41.3, "pump1_running": True,
             "fault_code": 0.0},
            1_793_664_000_000,
        ),
        Point(
            "elevator",
            {"building": "t2", "device": "elevator-3", "room": "machine-room", "site": SITE},
            {"floor": 7.0, "door_state": 0.0, "load": 240.0, "running": True,
             "car_temperature.quality": "error", "trips.quality": "stale"},
            1_793_664_000_012,
        ),
    ]  # fmt: skip


def test_numbers_are_floats_whatever_the_json_said() -> None:
    (point,) = points(batch(reading(values={"a": 3, "b": 3.0, "c": -1, "d": 2**63})))
    assert point.fields == {"a": 3.0, "b": 3.0, "c": -1.0, "d": float(2**63)}


def test_text_values_are_escaped_strings() -> None:
    (point,) = points(batch(reading(values={"mode": 'say "hi" \\ now', "n": 1})))
    assert point.fields == {"mode": 'say "hi" \\ now', "n": 1.0}


def test_good_quality_marks_are_not_stored_and_empty_readings_write_nothing() -> None:
    data = batch(
        reading(values={"a": 1}, quality={"a": "good"}),
        reading(device="pump-2", values={}, quality={"b": "error"}),
        reading(device="pump-3", values={}),
    )
    got = points(data)
    assert [(p.tags["device"], p.fields) for p in got] == [
        ("pump-1", {"a": 1.0}),
        ("pump-2", {"b.quality": "error"}),
    ]


def test_values_that_cannot_be_stored_are_reported_and_the_rest_written() -> None:
    data = b'{"site":"harbour-view","gateway":"gw-harbour-1","seq":1,"readings":[' + (
        b'{"device":"d","kind":"sensor","building":"b","room":"r","ts":5,'
        b'"values":{"x":NaN,"y":1.5,"z":1e999}}]}'
    )
    decoded = decode_telemetry(TOPIC, PARTS, data)
    assert [p.fields for p in parse_lines(decoded.lines)] == [{"y": 1.5}]
    assert len(decoded.problems) == 2
    assert "readings.0.values.x" in decoded.problems[0]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{not json", "Invalid JSON"),
        (b"[]", "Input should be an object"),
        (batch(reading(kind="boiler")), "readings.0.kind"),
        (batch(reading(ts="yesterday")), "readings.0.ts"),
        (batch(reading(ts=-1)), "readings.0.ts"),
        (batch(reading(values={"Bad Name": 1})), "readings.0.values.Bad Name"),
        (batch(reading(values={"x": [1, 2]})), "readings.0.values.x"),
        (batch(reading(values={"x": None})), "readings.0.values.x"),
        (batch(reading(device="Pump 1")), "readings.0.device"),
        (batch(reading(quality={"x": "meh"})), "readings.0.quality.x"),
        (batch(reading(colour="red")), "readings.0.colour: Extra inputs are not permitted"),
        (batch(reading(), seq=-1), "seq"),
        (batch(), "readings: List should have at least 1 item"),
        (batch(reading(), schema_version=2), "schema_version"),
        (batch(reading(), site="other-site"), "site 'other-site' does not match"),
        (batch(reading(), gateway="gw-other"), "gateway 'gw-other' does not match"),
    ],
)
def test_invalid_telemetry_is_refused_with_the_field_at_fault(data: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        decode_telemetry(TOPIC, PARTS, data)
    assert reason in caught.value.reason


def test_oversized_payloads_are_refused_before_parsing() -> None:
    data = batch(reading(values={"note": "x" * MAX_PAYLOAD_BYTES}))
    with pytest.raises(PayloadError, match="exceeds"):
        decode_telemetry(TOPIC, PARTS, data)


def test_lax_json_the_contract_accepts_is_written_too() -> None:
    # pydantic's lax mode takes "5" for an int; the fast path leaves such input to it.
    data = batch(reading(ts="1793664000000", values={"a": 1}), seq="7")
    assert fast_telemetry(data) is None
    (point,) = points(data)
    assert (point.ts, point.fields) == (1_793_664_000_000, {"a": 1.0})


def test_status_and_health_become_their_own_measurements() -> None:
    status = EXAMPLES["device_status"]
    s_topic = topics.device_status("harbour-view", "power-room-2")
    s_parts = topics.parse(s_topic)
    assert s_parts is not None
    (point,) = parse_lines(decode_status(s_topic, s_parts, status.to_bytes()).lines)
    assert point.measurement == "device_status"
    assert point.tags == {"building": "podium", "device": "power-room-2", "kind": "power_room",
                          "room": "power-room-2", "site": SITE}  # fmt: skip
    assert point.fields["state"] == "offline"
    assert point.fields["consecutive_failures"] == 3.0
    assert point.fields["error_kind"] == "timeout"
    health = EXAMPLES["gateway_health"]
    h_topic = topics.gateway_health(SITE, GW)
    h_parts = topics.parse(h_topic)
    assert h_parts is not None
    (point,) = parse_lines(decode_health(h_topic, h_parts, health.to_bytes()).lines)
    assert (point.measurement, point.tags) == ("gateway_health", {"gateway": GW, "site": SITE})
    assert point.fields["devices_online"] == 18.0
    assert "queue_oldest_ms" not in point.fields  # None is not stored


def test_status_for_another_device_than_its_topic_is_refused() -> None:
    topic = topics.device_status(SITE, "elevator-1")
    parts = topics.parse(topic)
    assert parts is not None
    with pytest.raises(PayloadError, match="device 'power-room-2' does not match"):
        decode_status(topic, parts, EXAMPLES["device_status"].to_bytes())


# --- the fast path never accepts what the contract refuses, and writes the same points -----

VALID_IDS = ["pump-1", "podium", "0", "a_b-c", "a" * 64]
ids = st.sampled_from([*VALID_IDS, "Pump", "a b", "", "x/y", "é", "a" * 65, "pump-1\n", "-x"])
VALID_NAMES = ["outlet_pressure", "x", "p2", "a" * 64]
names = st.sampled_from([*VALID_NAMES, "9x", "X", "a.b", "a-b", "", "a" * 65])
scalars = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.text(max_size=12),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
readings = st.fixed_dictionaries(
    {
        "device": ids,
        "kind": st.sampled_from(["water_pump_set", "elevator", "sensor", "boiler", 3]),
        "building": ids,
        "room": ids,
        "ts": st.one_of(
            st.integers(min_value=-2, max_value=32_503_680_000_002), st.just("1"), st.just(1.0)
        ),
        "values": st.dictionaries(names, scalars, max_size=5),
    },
    optional={
        "quality": st.one_of(
            st.dictionaries(names, st.sampled_from(["good", "stale", "error", "bad"]), max_size=3),
            st.none(),
            st.just([]),
        ),
        "extra": st.just(1),
    },
)
batches = st.fixed_dictionaries(
    {
        "site": st.one_of(st.just(SITE), ids),
        "gateway": st.just(GW),
        "seq": st.one_of(st.integers(min_value=-1, max_value=2**66), st.just("3")),
        "readings": st.lists(readings, max_size=4),
    },
    optional={"schema_version": st.sampled_from([1, 2, "1"])},
)


# The hypothesis plugin's failure report trips a DeprecationWarning (filterwarnings=error
# would hide the failing example behind an INTERNALERROR); no example database in the repo.
@pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")
@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(batches)
def test_fast_path_agrees_with_the_contract(doc: dict[str, Any]) -> None:
    data = json.dumps(doc).encode()  # stdlib: ints beyond 64 bits too
    fast = fast_telemetry(data)
    try:
        model = TelemetryBatch.model_validate_json(data)
    except ValidationError:
        assert fast is None, "the fast path accepted what the contract refuses"
        return
    if fast is None:
        return  # unsure: pydantic decides, which the general encoder then writes
    site, gateway, lines = fast
    assert (site, gateway) == (model.site, model.gateway)
    general = [reading_line(model.site, r, i, []) for i, r in enumerate(model.readings)]
    expected = parse_lines("\n".join(g for g in general if g is not None).encode())
    assert parse_lines(b"\n".join(lines)) == expected
