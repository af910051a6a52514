"""The message contract: MQTT topics and payload models shared by every component."""

from estatewatch.contracts import topics
from estatewatch.contracts.codec import MODEL_BY_KIND, decode, decode_any, describe
from estatewatch.contracts.payloads import *  # noqa: F403
from estatewatch.contracts.payloads import __all__ as _payload_names

__all__ = ["MODEL_BY_KIND", "decode", "decode_any", "describe", "topics", *_payload_names]
