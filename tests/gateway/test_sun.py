"""NTAG 424 DNA checkpoints: a scan must carry the tag's SUN message, which must verify
under the tag's key, name the tag, and carry a read counter not seen before. A cloned tag
(its UID on a blank tag) or a copied tag URL is refused and forwarded as an exception."""

from __future__ import annotations

from typing import Any

import pytest

from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import (
    PatrolException,
    PatrolExceptionKind,
    PatrolScan,
    ScanVerification,
    SunMessage,
)
from estatewatch.ntag424 import make_sun
from gateway.handhelds import HandheldKey, load_tag_keys
from gateway.scan_memory import ScanMemory
from gateway.scans import ScanOutcome, ScanValidator
from tests.gateway.test_scans import KEY, check, scan

TAG_KEY = bytes(range(16))
ROOF_UID = "04A1B2C3D4E5F6"  # a 7-byte NTAG 424 DNA UID


@pytest.fixture
def sun_site(example_site: SiteConfig) -> SiteConfig:
    checkpoints = [
        c.model_copy(update={"tag_uid": ROOF_UID, "sun_key_ref": "SUN_T1_ROOF_KEY"})
        if c.id == "t1-roof"
        else c
        for c in example_site.checkpoints
    ]
    return example_site.model_copy(update={"checkpoints": checkpoints})


def validator_for(site: SiteConfig, env: dict[str, str] | None = None) -> ScanValidator:
    tag_keys = load_tag_keys(site, {"SUN_T1_ROOF_KEY": TAG_KEY.hex()} if env is None else env)
    return ScanValidator(
        site, {"hh-01": HandheldKey(KEY)}, ScanMemory(), gateway="gw-1", tag_keys=tag_keys
    )


def sun(counter: int, key: bytes = TAG_KEY, uid: str = ROOF_UID) -> SunMessage:
    picc, mac = make_sun(key, uid, counter)
    return SunMessage(picc_data=picc, cmac=mac)


def exception_of(decision: Any) -> PatrolException:
    assert decision.outcome is ScanOutcome.EXCEPTION
    assert isinstance(decision.message, PatrolException)
    return decision.message


def test_a_genuine_tag_read_is_accepted_as_sun_verified(sun_site: SiteConfig) -> None:
    decision = check(validator_for(sun_site), scan(1, tag=ROOF_UID, sun=sun(40)))
    assert decision.outcome is ScanOutcome.ACCEPTED
    assert isinstance(decision.message, PatrolScan)
    assert decision.message.checkpoint == "t1-roof"
    assert decision.message.verified is ScanVerification.SUN
    # the tag's counter is committed with the message, like the handheld's
    assert ("tag:" + ROOF_UID, 40) in [s[1][:2] for s in decision.statements if s[1]]


def test_a_cloned_uid_without_a_sun_message_is_a_cloned_tag(sun_site: SiteConfig) -> None:
    found = exception_of(check(validator_for(sun_site), scan(1, tag=ROOF_UID)))
    assert found.kind is PatrolExceptionKind.CLONED_TAG
    assert "no SUN message" in found.reason
    assert found.tag_uid == ROOF_UID


def test_a_sun_message_made_with_another_key_is_a_cloned_tag(sun_site: SiteConfig) -> None:
    forged = sun(41, key=bytes(16))
    found = exception_of(check(validator_for(sun_site), scan(1, tag=ROOF_UID, sun=forged)))
    assert found.kind is PatrolExceptionKind.CLONED_TAG


def test_another_tags_genuine_message_is_refused(sun_site: SiteConfig) -> None:
    other = sun(5, uid="04FFFFFFFFFF01")  # same key, another tag: e.g. a spare tag's URL
    found = exception_of(check(validator_for(sun_site), scan(1, tag=ROOF_UID, sun=other)))
    assert found.kind is PatrolExceptionKind.CLONED_TAG
    assert "04FFFFFFFFFF01" in found.reason


def test_a_copied_tag_url_replays_its_counter(sun_site: SiteConfig) -> None:
    validator = validator_for(sun_site)
    copied = sun(50)
    assert check(validator, scan(1, tag=ROOF_UID, sun=copied)).outcome is ScanOutcome.ACCEPTED
    # later, by the same or another guard's handheld, the same URL read from a photo
    found = exception_of(check(validator, scan(2, tag=ROOF_UID, sun=copied)))
    assert found.kind is PatrolExceptionKind.REPLAY
    assert "copied tag URL" in found.reason
    # a lower counter later is a replay too; the next real read goes through
    assert exception_of(check(validator, scan(3, tag=ROOF_UID, sun=sun(49)))).kind is (
        PatrolExceptionKind.REPLAY
    )
    assert check(validator, scan(4, tag=ROOF_UID, sun=sun(51))).outcome is ScanOutcome.ACCEPTED


def test_the_tag_counter_survives_a_restart(sun_site: SiteConfig) -> None:
    first = validator_for(sun_site)
    decision = check(first, scan(1, tag=ROOF_UID, sun=sun(60)))
    rows = [s[1] for s in decision.statements if "scan_counters" in s[0]]
    memory = ScanMemory.from_rows([], [(who, counter) for who, counter, _ in rows])
    again = ScanValidator(
        sun_site, {"hh-01": HandheldKey(KEY)}, memory, gateway="gw-1",
        tag_keys=load_tag_keys(sun_site, {"SUN_T1_ROOF_KEY": TAG_KEY.hex()}),
    )  # fmt: skip
    found = exception_of(check(again, scan(2, tag=ROOF_UID, sun=sun(60))))
    assert found.kind is PatrolExceptionKind.REPLAY


@pytest.mark.parametrize(
    ("env", "problem"),
    [({}, "is not set"), ({"SUN_T1_ROOF_KEY": "abcd"}, "16-byte"),
     ({"SUN_T1_ROOF_KEY": "zz" * 16}, "16-byte")],
)  # fmt: skip
def test_a_missing_or_bad_key_refuses_the_tag_with_the_reason(
    sun_site: SiteConfig, env: dict[str, str], problem: str
) -> None:
    found = exception_of(check(validator_for(sun_site, env), scan(1, tag=ROOF_UID, sun=sun(1))))
    assert found.kind is PatrolExceptionKind.CLONED_TAG
    assert problem in found.reason


def test_plain_checkpoints_need_no_sun(sun_site: SiteConfig) -> None:
    decision = check(validator_for(sun_site), scan(1))
    assert decision.outcome is ScanOutcome.ACCEPTED
    assert isinstance(decision.message, PatrolScan)
    assert decision.message.verified is ScanVerification.HMAC
