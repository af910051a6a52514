"""A pydantic model for every MQTT payload in the contract (see topics.py for where each goes).

Conventions, kept by every model:
- JSON, UTF-8; `schema_version` is 1 and changes only with an incompatible change.
- Every time is an integer of **milliseconds since the Unix epoch, UTC** (`EpochMs`): cheap to
  parse on the hot path and exact as an InfluxDB timestamp.
- Unknown fields are rejected: a consumer never silently ignores what a producer meant.
- Ids (`alarm_id`, `scan_id`, `event_id`, ...) are stable: the same fact always gets the same
  id, so a consumer that sees a message twice can tell and do nothing the second time.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from estatewatch.config.base import Identifier

EpochMs = Annotated[int, Field(ge=0, le=32503680000000)]  # up to year 3000
"""Milliseconds since the Unix epoch, UTC."""

Scalar = bool | int | float | str
"""A point's value. bool before int: JSON `true` stays a bool."""

ShortText = Annotated[str, StringConstraints(max_length=256)]
LongText = Annotated[str, StringConstraints(max_length=4000)]
TagUid = Annotated[
    str, StringConstraints(to_upper=True, strip_whitespace=True, pattern=r"^[0-9A-Fa-f]{8,20}$")
]
"""An NFC tag UID in hex, normalised to upper case."""


SCHEMA_VERSION: Literal[1] = 1
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_READINGS_PER_BATCH = 1000


def stable_id(*parts: object) -> str:
    """A short id that is the same whenever the same parts are given (20 hex chars)."""
    joined = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:20]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class GatewayMessage(Payload):
    """What a gateway publishes through its store-and-forward queue. `seq` counts up by one
    per message of each model from each gateway, survives restarts, and is never reused, so
    a central consumer sees a gap as loss and a repeat as a harmless redelivery."""

    site: Identifier
    gateway: Identifier
    seq: int = Field(ge=0)


# --- dead letters ----------------------------------------------------------------------------


class DeadLetter(Payload):
    """A message a component could not use, with why. Nothing is silently dropped."""

    component: Identifier
    source_topic: Annotated[str, StringConstraints(max_length=1024)]
    reason: LongText
    received_at: EpochMs
    payload_bytes: int = Field(ge=0)
    payload: Annotated[str, StringConstraints(max_length=4096)] = Field(
        default="", description="the start of the payload as text (undecodable bytes replaced)"
    )
