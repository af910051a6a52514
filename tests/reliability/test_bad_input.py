"""Bad input, property-based: every payload model, the site-config loader, the rule loader
and the register decoder take whatever hypothesis throws at them and answer with their own
clear error (naming the topic, file or field) or a value, never anything else. Then the
same at rate on a real broker: malformed messages among good ones reach the dead-letter
topic, and every good reading is stored.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from estatewatch.config import SiteConfig
from estatewatch.config.loader import parse_site
from estatewatch.contracts import MODEL_BY_KIND, decode, decode_any, topics
from estatewatch.contracts.examples import EXAMPLES
from estatewatch.contracts.payloads import DeadLetter
from estatewatch.errors import ConfigError, PayloadError
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.testing.services import InfluxDB, Mosquitto
from gateway.decoding import decode_block
from gateway.plan import plan_reads
from rules.loader import builtin_text, parse_rules
from tests.ingest.helpers import (
    SITE,
    count_reaches,
    eventually,
    producer,
    running,
    settings_for,
)
from tests.reliability.harness import record_row

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_TEXT = (ROOT / "examples" / "estate.yaml").read_text()
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # no "explain" phase: its line tracing makes a failing YAML case take minutes on 3.11
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
# Parsing the whole example estate takes a quarter of a second: fewer cases for the loaders.
FUZZ_FILES = settings(FUZZ, max_examples=40)
KINDS = sorted(MODEL_BY_KIND)


def refusal(call: Callable[[], object], error: type[Exception]) -> str | None:
    """The text of the `error` `call` raised, or None if it returned (any other exception
    fails the test: that is the point)."""
    try:
        call()
    except error as exc:
        return str(exc)
    return None


def _topic(kind: str) -> str:
    return f"ew/v1/{SITE}/{kind}/x"  # any string: decode names it, whatever it is


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in a JSON/YAML document."""
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += _paths(value, (*prefix, i))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


# --- payload models ------------------------------------------------------------------------


@FUZZ
@given(kind=st.sampled_from(KINDS), data=st.binary(max_size=600))
def test_any_bytes_on_any_topic_decode_or_are_refused_by_name(kind: str, data: bytes) -> None:
    topic = _topic(kind)
    message = refusal(lambda: decode(MODEL_BY_KIND[kind], topic, data), PayloadError)
    assert message is None or topic in message


@FUZZ
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_one_field_changed_to_anything_decodes_or_names_the_field(kind: str, data: Any) -> None:
    doc = EXAMPLES[kind].model_dump(mode="json")
    path = data.draw(st.sampled_from(_paths(doc)[1:]), label="path")
    bad = _replace(doc, path, data.draw(JSON, label="value"))
    try:
        raw = orjson.dumps(bad)
    except (TypeError, orjson.JSONEncodeError):  # hypothesis made something JSON cannot carry
        return
    model = MODEL_BY_KIND[kind]
    message = refusal(lambda: decode(model, _topic(kind), raw).to_bytes(), PayloadError)
    # a refusal names the topic; an accepted payload could be sent on (to_bytes worked)
    assert message is None or _topic(kind) in message


@FUZZ
@given(topic=st.text(max_size=80), data=st.binary(max_size=200))
def test_any_topic_at_all_is_refused_or_decoded(topic: str, data: bytes) -> None:
    message = refusal(lambda: decode_any(topic, data), PayloadError)
    assert message is None or message.strip()  # a refusal says why


# --- configuration -------------------------------------------------------------------------


EXAMPLE_DOC: dict[str, Any] = yaml.safe_load(EXAMPLE_TEXT)
EXAMPLE_PATHS = _paths(EXAMPLE_DOC)[1:]
RULES_DOC: dict[str, Any] = {**yaml.safe_load(builtin_text()), "builtin": False}
RULES_PATHS = _paths(RULES_DOC)[1:]


def _dumped(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> str | None:
    try:
        return yaml.safe_dump(_replace(doc, path, value), allow_unicode=True)
    except yaml.YAMLError:
        return None


@FUZZ_FILES
@given(where=st.sampled_from(EXAMPLE_PATHS), value=JSON)
def test_a_site_file_with_one_value_changed_loads_or_names_it(
    where: tuple[Any, ...], value: Any
) -> None:
    text = _dumped(EXAMPLE_DOC, where, value)
    if text is not None:
        message = refusal(lambda: parse_site(text, file="fuzzed.yaml"), ConfigError)
        assert message is None or "fuzzed.yaml" in message


@FUZZ
@given(text=st.text(max_size=300))
def test_any_text_as_a_site_file_is_a_config_error(text: str) -> None:
    message = refusal(lambda: parse_site(text, file="fuzzed.yaml"), ConfigError)
    assert message is not None
    assert "fuzzed.yaml" in message


@FUZZ_FILES
@given(where=st.sampled_from(RULES_PATHS), value=JSON)
def test_a_rule_file_with_one_value_changed_loads_or_names_it(
    example_site: SiteConfig, where: tuple[Any, ...], value: Any
) -> None:
    text = _dumped(RULES_DOC, where, value)
    if text is not None:
        message = refusal(
            lambda: parse_rules(text, file="fuzzed-rules.yaml", sites=[example_site]),
            ConfigError,
        )
        assert message is None or "fuzzed-rules.yaml" in message


# --- the register decoder ------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_any_registers_decode_every_point_to_a_value_or_an_error(
    example_site: SiteConfig, data: Any
) -> None:
    device = data.draw(st.sampled_from([d for d in example_site.devices if d.register_map]))
    register_map = example_site.register_maps[device.register_map]
    requests = plan_reads(register_map.points, example_site.gateway.max_gap_registers)
    request = data.draw(st.sampled_from(requests))
    words = data.draw(st.lists(st.integers(0, 0xFFFF), max_size=request.count + 3))
    values, errors = decode_block(request, words)
    names = {p.name for p in request.points}
    assert set(values) | set(errors) == names  # every point answered, once
    assert not set(values) & set(errors)


# --- malformed MQTT at rate, on the real broker, into the real InfluxDB -------------------------

GARBAGE: list[bytes] = [
    b"", b"\x00\xff\xfe", b"not json", b"{", b"[]", b"null", b'{"site": 3}',
    b'{"schema_version": 1, "site": "harbour-view", "gateway": "g", "seq": -1, "readings": []}',
    orjson.dumps({"readings": [{"device": "x" * 5000}]}),
    b"\xef\xbb\xbf{}",  # a BOM
    ("{" * 10_000).encode(),  # deep nesting
]  # fmt: skip


async def test_malformed_messages_at_rate_are_dead_lettered_and_good_ones_stored(
    mosquitto: Mosquitto, influx_db: str, influxdb: InfluxDB
) -> None:
    good_messages, bad_rounds = 200, 100  # 200 × 10 readings, 1 100 malformed messages
    settings = settings_for(mosquitto.url, influxdb, influx_db)
    topic = topics.telemetry(SITE, "gw-fuzz")
    dead: list[DeadLetter] = []
    malformed = bad_rounds * len(GARBAGE)
    dl = MqttSettings(mosquitto.url, client_id="dead-letter-watch")
    async with (
        MqttClient(dl) as watcher,
        running(settings) as ingest,
        producer(mosquitto.url) as good,
        MqttClient(MqttSettings(mosquitto.url, client_id="fuzz-publisher")) as bad,
    ):
        await watcher.subscribe(topics.deadletter(SITE, "+"))

        async def collect() -> None:
            async for message in watcher.messages():
                dead.append(DeadLetter.model_validate_json(message.payload))

        collector = asyncio.create_task(collect())
        started = time.monotonic()

        async def spray() -> None:
            for _ in range(bad_rounds):
                for payload in GARBAGE:
                    await bad.publish(topic, payload)

        await asyncio.gather(good.publish(good_messages, size=10), spray())
        sent_s = time.monotonic() - started
        await count_reaches(influxdb, influx_db, good.readings, within=60)
        await eventually(lambda: len(dead) >= malformed, within=60, what="every dead letter")
        collector.cancel()
        assert ingest.stats.dead_letters_total == malformed
    assert all(d.source_topic == topic and d.reason for d in dead)
    record_row(
        "bad_input",
        {
            "case": "malformed MQTT at rate into ingest",
            "sent_good": good.readings,
            "sent_malformed": malformed,
            "rate_per_s": round((malformed + good_messages) / sent_s),
            "stored_good": good.readings,
            "dead_lettered": len(dead),
            "crashed": 0,
        },
    )
