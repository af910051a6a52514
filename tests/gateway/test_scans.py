"""Patrol scans: validated against the checkpoints, signatures and counters checked,
duplicates collapsed, everything else forwarded as an exception — never dropped."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson
import pytest

from estatewatch.config import Handheld, SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import (
    HandheldScan,
    PatrolException,
    PatrolExceptionKind,
    PatrolScan,
    ScanSource,
    ScanVerification,
)
from gateway.handhelds import HandheldKey, load_keys
from gateway.scan_memory import COUNTER_WINDOW, ScanMemory
from gateway.scans import ScanOutcome, ScanValidator

KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
T0 = 1_795_000_000_000
LOBBY = "04A1B20001"


def scan(counter: int, *, tag: str = LOBBY, at: int | None = None, key: bytes | None = KEY,
         handheld: str = "hh-01", **extra: Any) -> HandheldScan:  # fmt: skip
    made = HandheldScan(
        handheld=handheld, guard="guard-zhang", tag_uid=tag,
        scanned_at=T0 + counter * 60_000 if at is None else at, counter=counter, **extra,
    )  # fmt: skip
    if key is None:
        return made
    signature = hmac.new(key, made.signing_text(), hashlib.sha256).hexdigest()
    return made.model_copy(update={"signature": signature})


@pytest.fixture
def validator(example_site: SiteConfig) -> ScanValidator:
    keys = {"hh-01": HandheldKey(KEY), "hh-02": HandheldKey(None, "HANDHELD_HH02_KEY is not set")}
    return ScanValidator(example_site, keys, ScanMemory(), gateway="gw-harbour-1")


def check(validator: ScanValidator, made: HandheldScan, received: int | None = None) -> Any:
    raw = made.to_bytes()
    at = received if received is not None else made.scanned_at + 1000
    return validator.check(made, source=ScanSource.MQTT, received_at=at, raw=raw)


def test_a_signed_scan_of_a_checkpoint_is_accepted(validator: ScanValidator) -> None:
    decision = check(validator, scan(1))
    assert decision.outcome is ScanOutcome.ACCEPTED
    message = decision.message
    assert isinstance(message, PatrolScan)
    assert message.checkpoint == "t1-lobby"
    assert message.building == "t1"
    assert message.verified is ScanVerification.HMAC
    assert message.scan_id == scan(1).scan_id
    assert not message.synced_late
    assert decision.statements  # the memory is committed with the message
    assert decision.answer(0) == {
        "index": 0,
        "result": "accepted",
        "scan_id": message.scan_id,
        "checkpoint": "t1-lobby",
    }


def test_the_same_scan_twice_is_one(validator: ScanValidator) -> None:
    assert check(validator, scan(1)).outcome is ScanOutcome.ACCEPTED
    again = check(validator, scan(1))
    assert again.outcome is ScanOutcome.DUPLICATE
    assert again.message is None


@pytest.mark.parametrize(
    ("made", "kind", "reason"),
    [
        (scan(1, key=bytes(16)), PatrolExceptionKind.BAD_SIGNATURE, "does not match"),
        (scan(1, key=None), PatrolExceptionKind.BAD_SIGNATURE, "unsigned"),
        (scan(1, handheld="hh-02"), PatrolExceptionKind.BAD_SIGNATURE, "HANDHELD_HH02_KEY"),
        (scan(1, handheld="hh-99"), PatrolExceptionKind.UNKNOWN_HANDHELD, "hh-99"),
        (scan(1, tag="04FFFFFFFF"), PatrolExceptionKind.UNKNOWN_TAG, "04FFFFFFFF"),
    ],
)
def test_exceptions(
    validator: ScanValidator, made: HandheldScan, kind: PatrolExceptionKind, reason: str
) -> None:
    decision = check(validator, made)
    assert decision.outcome is ScanOutcome.EXCEPTION
    message = decision.message
    assert isinstance(message, PatrolException)
    assert message.kind is kind
    assert reason in message.reason
    assert message.handheld == made.handheld
    assert message.tag_uid == made.tag_uid
    assert message.scanned_at == made.scanned_at
    assert message.raw.startswith("{")
    assert check(validator, made).outcome is ScanOutcome.DUPLICATE  # an exact repeat collapses


def test_a_forged_scan_does_not_preempt_the_genuine_one(validator: ScanValidator) -> None:
    forged = scan(1, key=bytes(16))
    assert check(validator, forged).outcome is ScanOutcome.EXCEPTION
    assert check(validator, scan(1)).outcome is ScanOutcome.ACCEPTED


def test_a_counter_that_does_not_rise_is_a_replay(validator: ScanValidator) -> None:
    assert check(validator, scan(5)).outcome is ScanOutcome.ACCEPTED
    replayed = scan(3, tag="04A1B20002")  # validly signed, older counter, sent live
    decision = check(validator, replayed)
    assert isinstance(decision.message, PatrolException)
    assert decision.message.kind is PatrolExceptionKind.REPLAY
    reused = scan(5, tag="04A1B20003", at=T0 + 999_000)  # another scan with a used counter
    decision = check(validator, reused)
    assert isinstance(decision.message, PatrolException)
    assert decision.message.kind is PatrolExceptionKind.REPLAY


def test_scans_kept_offline_may_arrive_after_newer_ones(validator: ScanValidator) -> None:
    high = COUNTER_WINDOW + 10
    assert check(validator, scan(high)).outcome is ScanOutcome.ACCEPTED
    late = [scan(c, offline=True) for c in (high - 3, high - 2, high - 1)]
    for made in late:
        decision = check(validator, made, received=T0 + 3_600_000)
        assert decision.outcome is ScanOutcome.ACCEPTED
        assert isinstance(decision.message, PatrolScan)
        assert decision.message.synced_late
    ancient = scan(high - COUNTER_WINDOW, offline=True)
    decision = check(validator, ancient)
    assert isinstance(decision.message, PatrolException)
    assert decision.message.kind is PatrolExceptionKind.REPLAY


def test_memory_comes_back_from_the_store_rows(example_site: SiteConfig) -> None:
    memory = ScanMemory.from_rows([(scan(4).scan_id, T0)], [("hh-01", 4), ("hh-01", 2)])
    validator = ScanValidator(example_site, {"hh-01": HandheldKey(KEY)}, memory, gateway="gw")
    assert check(validator, scan(4)).outcome is ScanOutcome.DUPLICATE
    replay = check(validator, scan(3, tag="04A1B20002"))
    assert isinstance(replay.message, PatrolException)
    assert check(validator, scan(6)).outcome is ScanOutcome.ACCEPTED


def test_prune_forgets_old_scan_ids(example_site: SiteConfig) -> None:
    memory = ScanMemory.from_rows([("old", T0), ("new", T0 + 40 * 86_400_000)], [])
    statements = memory.prune(T0 + 41 * 86_400_000)
    assert set(memory.seen) == {"new"}
    assert statements[0][0].startswith("DELETE FROM scans_seen")


def test_malformed_messages_on_mqtt(validator: ScanValidator) -> None:
    topic = topics.handheld_scan("harbour-view", "hh-01")
    decision = validator.from_mqtt(topic, b'{"handheld": "hh-01", "tag_uid": "zz"}', T0)
    message = decision.message
    assert isinstance(message, PatrolException)
    assert message.kind is PatrolExceptionKind.MALFORMED
    assert message.handheld == "hh-01"
    assert "tag_uid" in message.reason
    assert message.raw.startswith('{"handheld"')
    assert validator.from_mqtt(topic, b"not json at all", T0).outcome is ScanOutcome.EXCEPTION
    other = topics.handheld_scan("harbour-view", "hh-03")
    wrong = validator.from_mqtt(other, scan(1).to_bytes(), T0)
    assert isinstance(wrong.message, PatrolException)
    assert "topic of hh-03" in wrong.message.reason


def test_a_handheld_no_guard_carries_is_a_fixed_reader(example_site: SiteConfig) -> None:
    reader = Handheld(id="reader-gate")
    site = example_site.model_copy(update={"handhelds": [*example_site.handhelds, reader]})
    validator = ScanValidator(site, {}, ScanMemory(), gateway="gw")
    made = scan(1, key=None, handheld="reader-gate")
    topic = topics.handheld_scan("harbour-view", "reader-gate")
    decision = validator.from_mqtt(topic, made.to_bytes(), T0)
    assert isinstance(decision.message, PatrolScan)
    assert decision.message.source is ScanSource.READER


def test_an_http_sync_element(validator: ScanValidator) -> None:
    item = orjson.loads(scan(2).to_bytes())
    assert validator.from_json(item, T0).outcome is ScanOutcome.ACCEPTED
    bad = validator.from_json({"handheld": "hh-01"}, T0)
    assert isinstance(bad.message, PatrolException)
    assert bad.message.kind is PatrolExceptionKind.MALFORMED
    assert bad.message.source is ScanSource.HTTP


def test_keys_come_from_the_environment_as_hex(example_site: SiteConfig) -> None:
    keys = load_keys(example_site, {"HANDHELD_HH01_KEY": KEY.hex(), "HANDHELD_HH02_KEY": "xyz"})
    assert keys["hh-01"] == HandheldKey(KEY)
    assert keys["hh-02"].key is None
    assert "hex" in (keys["hh-02"].problem or "")
    assert "not set" in (keys["hh-03"].problem or "")
