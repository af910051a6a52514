"""The topic tree is one table: every builder, filter and parse comes from it."""

from __future__ import annotations

import pytest

from estatewatch.contracts import topics
from estatewatch.contracts.codec import MODEL_BY_KIND
from ingest.decode import DECODERS

BUILT = {
    "gateway_state": topics.gateway_state("hv", "gw-1"),
    "gateway_health": topics.gateway_health("hv", "gw-1"),
    "telemetry": topics.telemetry("hv", "gw-1"),
    "device_status": topics.device_status("hv", "pump-1"),
    "patrol_scan": topics.patrol_scan("hv", "gw-1"),
    "patrol_exception": topics.patrol_exception("hv", "gw-1"),
    "handheld_scan": topics.handheld_scan("hv", "hh-01"),
    "alarm": topics.alarm("hv", "a-1"),
    "alarm_command": topics.alarm_command("hv", "a-1"),
    "workorder": topics.workorder("hv", "wo-1"),
    "notification": topics.notification("hv", "n-1"),
    "incident": topics.incident("hv", "i-1"),
    "deadletter": topics.deadletter("hv", "ingest"),
    "roster": topics.roster("hv"),
}


def test_every_row_has_a_builder_and_parses_back() -> None:
    assert set(BUILT) == set(topics.TOPICS)
    for kind, topic in BUILT.items():
        parts = topics.parse(topic)
        assert parts is not None, topic
        assert (parts.site, parts.kind) == ("hv", kind)
        assert parts.key in topic.rsplit("/", 2)[-2:]


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("ew/v1/hv/gateway/gw-1/state", ("hv", "gateway_state", "gw-1")),
        ("ew/v1/hv/handheld/hh-01/scan", ("hv", "handheld_scan", "hh-01")),
        ("ew/v1/hv/alarm-command/a-1", ("hv", "alarm_command", "a-1")),
        ("ew/v1/hv/gateway/gw-1/other", None),
        ("ew/v1/hv/patrol/other/gw-1", None),
        ("ew/v1/hv/telemetry/gw-1/extra", None),
        ("ew/v2/hv/telemetry/gw-1", None),
        ("ew/v1/hv", None),
    ],
)
def test_parse(topic: str, expected: tuple[str, str, str] | None) -> None:
    parts = topics.parse(topic)
    assert (None if parts is None else (parts.site, parts.kind, parts.key)) == expected


def test_filters_match_their_kind_in_every_site() -> None:
    assert topics.telemetry_filter() == "ew/v1/+/telemetry/+"
    assert topics.status_filter("hv") == "ew/v1/hv/status/+"
    assert topics.handheld_filter() == "ew/v1/+/handheld/+/scan"
    assert topics.TOPICS["gateway_state"].retained
    assert topics.TOPICS["device_status"].retained
    assert not topics.TOPICS["telemetry"].retained


def test_component_maps_are_derived_from_the_table() -> None:
    assert dict(MODEL_BY_KIND) == {k: r.model for k, r in topics.TOPICS.items()}
    assert set(DECODERS) <= set(topics.TOPICS)
    with pytest.raises(KeyError):
        topics.models("no_such_kind")
