"""Patrol: handheld scans, what the gateway makes of them, findings, exceptions."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from estatewatch.config.base import Identifier
from estatewatch.contracts.base import (
    EpochMs,
    GatewayMessage,
    LongText,
    Payload,
    ShortText,
    TagUid,
    stable_id,
)


class FindingPriority(StrEnum):
    IMMEDIATE = "immediate"  # 立即整改: fixed within the SLA's immediate_finding_fix (1 h)
    BY_DEADLINE = "by_deadline"  # 限期整改: an owner and a due date, re-inspected
    NEEDS_COORDINATION = "needs_coordination"  # 需协调


class Finding(BaseModel):
    """A hazard a guard reports at a checkpoint; it becomes a work order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    priority: FindingPriority
    due_at: EpochMs | None = None
    location: ShortText = ""
    photo_refs: list[ShortText] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _deadline(self) -> Self:
        if self.priority is FindingPriority.BY_DEADLINE and self.due_at is None:
            raise ValueError("a by_deadline finding needs due_at")
        return self


class SunMessage(BaseModel):
    """The SUN (secure unique NFC) message of an NTAG 424 DNA tag, as read from its URL:
    `picc_data` the `e=` parameter (encrypted UID and read counter), `cmac` the `c=` one.
    Verified with `estatewatch.ntag424`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    picc_data: Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{32}$")]
    cmac: Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{16}$")]


class HandheldScan(Payload):
    """What a guard's handheld (or a fixed reader) sends on the site broker or by HTTP sync.

    `signature` is HMAC-SHA256, hex, with the handheld's key over
    ``f"{handheld}|{guard}|{tag_uid}|{scanned_at}|{counter}"``; `counter` rises by one per
    scan on the handheld, so a replay or a forgery is detectable.
    """

    handheld: Identifier
    guard: Identifier
    tag_uid: TagUid
    scanned_at: EpochMs
    counter: int | None = Field(default=None, ge=0)
    signature: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    sun: SunMessage | None = None
    finding: Finding | None = None
    offline: bool = Field(default=False, description="kept on the handheld and synced later")

    def signing_text(self) -> bytes:
        return (
            f"{self.handheld}|{self.guard}|{self.tag_uid}|{self.scanned_at}|{self.counter}"
        ).encode()

    @property
    def scan_id(self) -> str:
        """Same handheld, same tag, same time: the same scan, however often it is sent."""
        return stable_id(self.handheld, self.tag_uid, self.scanned_at)


class ScanSource(StrEnum):
    MQTT = "mqtt"
    HTTP = "http"
    READER = "reader"


class ScanVerification(StrEnum):
    NONE = "none"
    HMAC = "hmac"
    SUN = "sun"


class PatrolScan(GatewayMessage):
    """A scan of a known checkpoint, forwarded by the gateway with its original time."""

    scan_id: ShortText
    handheld: Identifier
    guard: Identifier
    tag_uid: TagUid
    checkpoint: Identifier
    building: Identifier
    scanned_at: EpochMs
    received_at: EpochMs
    source: ScanSource
    synced_late: bool = False
    counter: int | None = None
    verified: ScanVerification = ScanVerification.NONE
    finding: Finding | None = None


class PatrolExceptionKind(StrEnum):
    UNKNOWN_TAG = "unknown_tag"
    UNKNOWN_HANDHELD = "unknown_handheld"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    REPLAY = "replay"
    CLONED_TAG = "cloned_tag"
    """An NTAG 424 DNA checkpoint whose scan lacks a SUN message that verifies."""


class PatrolException(GatewayMessage):
    """A scan the gateway could not accept. Forwarded, never dropped: the duty room sees it."""

    kind: PatrolExceptionKind
    reason: LongText
    received_at: EpochMs
    source: ScanSource
    handheld: ShortText | None = None
    guard: ShortText | None = None
    tag_uid: ShortText | None = None
    scanned_at: EpochMs | None = None
    raw: Annotated[str, StringConstraints(max_length=2048)] = ""
