"""Dead letters: a message ingest could not (fully) use, and why. Pure."""

from __future__ import annotations

from estatewatch.contracts import topics
from estatewatch.contracts.payloads import DeadLetter

COMPONENT = "ingest"
_MAX_REASON = 4000
_MAX_PAYLOAD_TEXT = 4096


def dead_letter(*, topic: str, reason: str, payload: bytes, received_at: int) -> DeadLetter:
    """The contract's `DeadLetter`, with the start of the payload as text."""
    text = payload[:_MAX_PAYLOAD_TEXT].decode("utf-8", errors="replace")[:_MAX_PAYLOAD_TEXT]
    return DeadLetter(
        component=COMPONENT,
        source_topic=topic[:1024],
        reason=reason[:_MAX_REASON],
        received_at=received_at,
        payload_bytes=len(payload),
        payload=text,
    )


def dead_letter_topic(source_topic: str) -> str:
    """``ew/v1/{site}/deadletter/ingest``, on the site the message came from."""
    parts = topics.parse(source_topic)
    if parts is not None:
        site = parts.site
    else:
        pieces = source_topic.split("/")
        site = pieces[2] if len(pieces) > 3 and pieces[2] not in ("", "+", "#") else "unknown"
    return topics.deadletter(site, COMPONENT)
