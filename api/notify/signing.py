"""How each vendor wants a request signed. Pure functions, so they are table-tested.

- webhook: `X-EstateWatch-Signature: sha256=<hex HMAC-SHA256(secret, body)>`, plus
  `X-EstateWatch-Timestamp` (ms) and `X-EstateWatch-Delivery` (the delivery id).
- DingTalk robot (加签): string_to_sign = "{timestamp_ms}\\n{secret}", HMAC-SHA256 keyed with
  the secret, base64, then URL-encoded; sent as `&timestamp=..&sign=..` on the URL. DingTalk
  refuses a timestamp more than one hour from its own time.
- Feishu/Lark bot: string_to_sign = "{timestamp_s}\\n{secret}" is the HMAC *key*, the message
  is empty; base64; sent as `timestamp` and `sign` in the JSON body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus

WEBHOOK_SIGNATURE = "X-EstateWatch-Signature"
WEBHOOK_TIMESTAMP = "X-EstateWatch-Timestamp"
WEBHOOK_DELIVERY = "X-EstateWatch-Delivery"


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The `sign` query value, already URL-encoded as DingTalk documents."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def dingtalk_url(url: str, secret: str, timestamp_ms: int) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def feishu_sign(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
