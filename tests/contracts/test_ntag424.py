"""NTAG 424 DNA SUN verification against NXP's own example (AN12196) and forgeries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from estatewatch import ntag424
from estatewatch.ntag424 import SunError, make_sun, verify

# AN12196, "SUN message example": both SDM keys all zero.
AN12196_KEY = bytes(16)
AN12196_PICC = "EF963FF7828658A599F3041510671E88"
AN12196_MAC = "94EED9EE65337086"


def test_nxps_example_message_verifies_to_its_uid_and_counter() -> None:
    reading = verify(AN12196_PICC, AN12196_MAC, AN12196_KEY)
    assert reading == ntag424.SunReading(uid="04DE5F1EACC040", counter=61)


def test_a_changed_mac_is_a_cloned_tag_or_an_altered_url() -> None:
    with pytest.raises(SunError, match="MAC does not match"):
        verify(AN12196_PICC, "94EED9EE65337087", AN12196_KEY)


def test_another_key_cannot_read_the_picc_data() -> None:
    with pytest.raises(SunError, match="does not decrypt"):
        verify(AN12196_PICC, AN12196_MAC, bytes(range(16)))


def test_a_cloned_uid_without_the_key_fails() -> None:
    # A forger who knows the UID and the scheme but not the key makes a message of their own.
    forged_picc, forged_mac = make_sun(bytes(range(16)), "04DE5F1EACC040", 62)
    with pytest.raises(SunError):
        verify(forged_picc, forged_mac, AN12196_KEY)


def test_separate_meta_and_file_keys() -> None:
    meta, file = bytes(range(16)), bytes(range(16, 32))
    picc, _ = make_sun(meta, "04A1B2C3D4E5F6", 7)
    mac = ntag424.sdm_mac(file, bytes.fromhex("04A1B2C3D4E5F6"), 7).hex()
    assert verify(picc, mac, meta, file).counter == 7
    with pytest.raises(SunError):
        verify(picc, mac, meta)  # the file key is not the meta key here


def test_not_hex_is_refused_with_a_reason() -> None:
    with pytest.raises(SunError, match="hex"):
        verify("zz" * 16, AN12196_MAC, AN12196_KEY)


@given(
    key=st.binary(min_size=16, max_size=16),
    uid=st.binary(min_size=7, max_size=7),
    counter=st.integers(0, (1 << 24) - 1),
    pad=st.binary(min_size=5, max_size=5),
)
def test_every_genuine_message_verifies(key: bytes, uid: bytes, counter: int, pad: bytes) -> None:
    picc, mac = make_sun(key, uid.hex(), counter, random=pad)
    assert verify(picc, mac, key) == ntag424.SunReading(uid.hex().upper(), counter)


@given(picc=st.binary(min_size=16, max_size=16), mac=st.binary(min_size=8, max_size=8))
def test_random_bytes_never_verify_and_never_crash(picc: bytes, mac: bytes) -> None:
    with pytest.raises(SunError):
        verify(picc.hex(), mac.hex(), AN12196_KEY)
