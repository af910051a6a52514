"""NTAG 424 DNA secure unique NFC (SUN) messages, as NXP's application note AN12196
("NTAG 424 DNA and NTAG 424 DNA TagTamper features and hints") describes them.

A tag configured for SUN mirrors two values into the URL it gives every reader:
`PICCData`, its UID and read counter AES-128-CBC-encrypted with the SDM meta-read key, and
`SDMMAC`, an AES-CMAC with a session key derived from the SDM file-read key, the UID and the
counter. A copied tag (same UID on a blank tag) cannot compute the MAC; a copied URL replays
a counter already seen. Pure: the caller keeps the counters.

Most estates give both SDM roles one key per tag; a tag with two gives both to `verify`.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

KEY_BYTES = 16
UID_BYTES = 7
_ZERO_IV = bytes(16)
# PICCDataTag: bit 7 UID mirrored, bit 6 read counter mirrored, bits 0-3 the UID's length.
_PICC_TAG = 0x80 | 0x40 | UID_BYTES
# SV2 prefix for the session MAC key (AN12196, "SDM session key generation").
_SV2_PREFIX = bytes.fromhex("3CC300010080")


class SunError(ValueError):
    """A SUN message that does not verify; the text says why, for the duty room."""


@dataclass(frozen=True, slots=True)
class SunReading:
    uid: str
    """upper-case hex, as readers report it"""
    counter: int


def _cmac(key: bytes, data: bytes) -> bytes:
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def _aes_cbc(key: bytes, data: bytes, *, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(_ZERO_IV))
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


def sdm_mac(file_key: bytes, uid: bytes, counter: int, data: bytes = b"") -> bytes:
    """The 8-byte SDMMAC: CMAC with the session key over the mirrored data between the MAC
    input offset and the MAC (empty in the usual `?e=…&c=…` layout), even bytes dropped."""
    session_key = _cmac(file_key, _SV2_PREFIX + uid + counter.to_bytes(3, "little"))
    return _cmac(session_key, data)[1::2]


def read_picc_data(meta_key: bytes, picc_data: bytes) -> SunReading:
    """The UID and read counter a tag encrypted; SunError if it is not a tag's PICC data
    under this key (a wrong key, or bytes a cloned tag made up)."""
    if len(picc_data) != 16:
        raise SunError("PICC data must be 16 bytes")
    plain = _aes_cbc(meta_key, picc_data, encrypt=False)
    if plain[0] != _PICC_TAG:
        raise SunError("PICC data does not decrypt under the checkpoint's key: a cloned tag?")
    uid = plain[1 : 1 + UID_BYTES]
    counter = int.from_bytes(plain[1 + UID_BYTES : 4 + UID_BYTES], "little")
    return SunReading(uid.hex().upper(), counter)


def verify(
    picc_data_hex: str,
    cmac_hex: str,
    meta_key: bytes,
    file_key: bytes | None = None,
    *,
    mac_input: bytes = b"",
) -> SunReading:
    """The tag's UID and counter if the message is authentic; SunError otherwise."""
    try:
        picc_data, mac = bytes.fromhex(picc_data_hex), bytes.fromhex(cmac_hex)
    except ValueError as exc:
        raise SunError("PICC data and MAC must be hex") from exc
    reading = read_picc_data(meta_key, picc_data)
    expected = sdm_mac(file_key or meta_key, bytes.fromhex(reading.uid), reading.counter, mac_input)
    # Constant time: the MAC is the secret a forger is guessing.
    if not hmac.compare_digest(expected, mac):
        raise SunError("the tag's MAC does not match: a cloned tag or an altered URL")
    return reading


def make_sun(
    key: bytes, uid_hex: str, counter: int, *, random: bytes | None = None
) -> tuple[str, str]:
    """What a genuine tag with this key would give a reader: (PICC data hex, MAC hex). For the
    simulators and tests; real tags compute it themselves."""
    uid = bytes.fromhex(uid_hex)
    if len(uid) != UID_BYTES:
        raise ValueError(f"an NTAG 424 DNA UID is {UID_BYTES} bytes, not {len(uid)}")
    if not 0 <= counter < 1 << 24:
        raise ValueError("the read counter is 24 bits")
    pad = random if random is not None else os.urandom(5)
    plain = bytes([_PICC_TAG]) + uid + counter.to_bytes(3, "little") + pad[:5]
    picc = _aes_cbc(key, plain, encrypt=True)
    return picc.hex().upper(), sdm_mac(key, uid, counter).hex().upper()
