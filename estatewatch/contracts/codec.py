"""Turning MQTT payloads into contract models and back, with errors that name the field."""

from __future__ import annotations

from typing import TypeVar

from pydantic import ValidationError

from estatewatch.contracts import topics
from estatewatch.contracts.payloads import MAX_PAYLOAD_BYTES, Payload
from estatewatch.contracts.topics import MODEL_BY_KIND
from estatewatch.errors import PayloadError

P = TypeVar("P", bound=Payload)

__all__ = ["MODEL_BY_KIND", "decode", "decode_any", "describe"]


def describe(error: ValidationError, limit: int = 3) -> str:
    """`readings.0.ts: Input should be a valid integer; ...`: the fields at fault first."""
    parts = []
    for err in error.errors(include_url=False)[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(message)"
        parts.append(f"{loc}: {err['msg']}")
    more = error.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def decode(model: type[P], topic: str, data: bytes) -> P:
    """Parse `data` as `model`, or raise `PayloadError` naming the topic and field at fault."""
    if len(data) > MAX_PAYLOAD_BYTES:
        raise PayloadError(topic, f"payload of {len(data)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise PayloadError(topic, describe(exc)) from None


def decode_any(topic: str, data: bytes) -> Payload:
    """Parse a message on any contract topic into the model its topic names."""
    parts = topics.parse(topic)
    if parts is None:
        raise PayloadError(topic, "not a contract topic")
    return decode(MODEL_BY_KIND[parts.kind], topic, data)
