"""The JetStream side of the contract: topics and subjects map both ways, the estate is the
partition key of every subject the stream takes."""

from __future__ import annotations

import pytest

from estatewatch.contracts import streams, topics
from estatewatch.jetstream import JetStreamSettings


@pytest.mark.parametrize(
    "topic",
    [
        topics.telemetry("harbour-view", "gw-1"),
        topics.device_status("harbour-view", "pump_2"),
        topics.gateway_health("tower-b", "gw-9"),
    ],
)
def test_a_topic_and_its_subject_map_both_ways_with_the_estate_third(topic: str) -> None:
    subject = streams.subject(topic)
    assert "/" not in subject
    assert streams.topic(subject) == topic
    assert streams.site_of(subject) == topics.parse(topic).site  # type: ignore[union-attr]


def test_the_stream_takes_what_ingest_writes_and_a_partition_is_one_estate() -> None:
    assert streams.telemetry_subjects() == [
        "ew.v1.*.telemetry.*",
        "ew.v1.*.status.*",
        "ew.v1.*.gateway.*.health",
    ]
    assert streams.estate_filter("tower-b") == "ew.v1.tower-b.>"
    assert streams.site_of("other.subject") is None


def test_cluster_urls_are_read_as_a_list() -> None:
    settings = JetStreamSettings.from_url("nats://a:4222, b:4222,,nats://c:4222")
    assert settings.servers == ("nats://a:4222", "nats://b:4222", "nats://c:4222")
    with pytest.raises(ValueError, match="no NATS server"):
        JetStreamSettings.from_url(" , ")
