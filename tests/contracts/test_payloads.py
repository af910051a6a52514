"""Every payload model round-trips, rejects what it should, and matches its topic."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from estatewatch.contracts import MODEL_BY_KIND, decode, decode_any, topics
from estatewatch.contracts.examples import EXAMPLES, GATEWAY, SITE
from estatewatch.contracts.payloads import (
    MAX_PAYLOAD_BYTES,
    Finding,
    HandheldScan,
    TelemetryBatch,
    stable_id,
)
from estatewatch.errors import PayloadError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "contracts.md"


def test_every_topic_kind_has_an_example() -> None:
    assert set(EXAMPLES) == set(MODEL_BY_KIND)


@pytest.mark.parametrize("kind", sorted(MODEL_BY_KIND))
def test_round_trip(kind: str) -> None:
    payload = EXAMPLES[kind]
    model = MODEL_BY_KIND[kind]
    assert isinstance(payload, model)
    data = payload.to_bytes()
    assert decode(model, f"test/{kind}", data) == payload
    assert payload.schema_version == 1


@pytest.mark.parametrize("kind", sorted(MODEL_BY_KIND))
def test_unknown_fields_are_refused(kind: str) -> None:
    data = EXAMPLES[kind].model_dump(mode="json") | {"colour": "red"}
    with pytest.raises(ValidationError, match="colour"):
        MODEL_BY_KIND[kind].model_validate(data)


def test_topics_name_their_payload() -> None:
    built = {
        "telemetry": topics.telemetry(SITE, GATEWAY),
        "device_status": topics.device_status(SITE, "power-room-2"),
        "gateway_state": topics.gateway_state(SITE, GATEWAY),
        "gateway_health": topics.gateway_health(SITE, GATEWAY),
        "handheld_scan": topics.handheld_scan(SITE, "hh-02"),
        "patrol_scan": topics.patrol_scan(SITE, GATEWAY),
        "patrol_exception": topics.patrol_exception(SITE, GATEWAY),
        "alarm": topics.alarm(SITE, "a1"),
        "alarm_command": topics.alarm_command(SITE, "a1"),
        "workorder": topics.workorder(SITE, "wo1"),
        "notification": topics.notification(SITE, "n1"),
        "incident": topics.incident(SITE, "i1"),
        "deadletter": topics.deadletter(SITE, "ingest"),
        "roster": topics.roster(SITE),
    }
    assert set(built) == set(MODEL_BY_KIND)
    for kind, topic in built.items():
        parts = topics.parse(topic)
        assert parts is not None, topic
        assert (parts.site, parts.kind) == (SITE, kind)
        assert decode_any(topic, EXAMPLES[kind].to_bytes()) == EXAMPLES[kind]


@pytest.mark.parametrize(
    "topic",
    ["ew/v2/s/telemetry/g", "ew/v1/s", "ew/v1/s/telemetry", "ew/v1/s/gateway/g/mood", "x/y/z/w"],
)
def test_foreign_topics_are_not_parsed(topic: str) -> None:
    assert topics.parse(topic) is None


def test_errors_name_topic_and_field() -> None:
    data = EXAMPLES["telemetry"].model_dump(mode="json")
    data["readings"][0]["ts"] = "yesterday"
    with pytest.raises(PayloadError) as info:
        decode(
            TelemetryBatch,
            "ew/v1/s/telemetry/g",
            json.dumps(data).encode(),
        )
    assert info.value.topic == "ew/v1/s/telemetry/g"
    assert "readings.0.ts" in info.value.reason
    with pytest.raises(PayloadError, match=r"Invalid JSON|not valid JSON"):
        decode(TelemetryBatch, "t", b"{not json")
    with pytest.raises(PayloadError, match="exceeds"):
        decode(TelemetryBatch, "t", b" " * (MAX_PAYLOAD_BYTES + 1))


def test_point_values_keep_their_json_types() -> None:
    batch = decode(TelemetryBatch, "t", EXAMPLES["telemetry"].to_bytes())
    values = batch.readings[0].values
    assert values["pump1_running"] is True
    assert isinstance(values["fault_code"], int)
    assert isinstance(values["outlet_pressure"], float)


def test_scan_id_is_stable_and_tag_is_normalised() -> None:
    scan = HandheldScan(handheld="hh-01", guard="guard-zhang", tag_uid="04a1b20001", scanned_at=1)
    again = HandheldScan(handheld="hh-01", guard="guard-zhang", tag_uid="04A1B20001", scanned_at=1)
    assert scan.tag_uid == "04A1B20001"
    assert scan.scan_id == again.scan_id == stable_id("hh-01", "04A1B20001", 1)
    later = HandheldScan(handheld="hh-01", guard="guard-zhang", tag_uid="04A1B20001", scanned_at=2)
    assert later.scan_id != scan.scan_id


def test_by_deadline_finding_needs_a_due_date() -> None:
    with pytest.raises(ValidationError, match="needs due_at"):
        Finding(description="Broken fence", priority="by_deadline")  # type: ignore[arg-type]


def test_docs_examples_are_valid_payloads() -> None:
    """Every JSON example in docs/contracts.md parses as the model its heading names."""
    text = DOCS.read_text()
    blocks = re.findall(r"^### `(\w+)`.*?```json\n(.*?)```", text, re.S | re.M)
    names = {m.__name__: m for m in MODEL_BY_KIND.values()}
    assert {name for name, _ in blocks} == set(names)
    for name, body in blocks:
        names[name].model_validate_json(body)
