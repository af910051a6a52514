"""The channels behind one small interface: `await sender.send(envelope)` or DeliveryError.

Webhook, DingTalk, WeCom and Feishu are HTTP POSTs of JSON (httpx); e-mail goes through the
standard library's smtplib in a worker thread (STARTTLS, SSL or plain, with optional login);
SMS goes to the site's provider through a configurable HTTP request.
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from api.notify import signing
from api.notify.errors import DeliveryError, MissingSecret
from api.notify.templates import Rendered
from estatewatch.clock import Clock, to_epoch_ms
from estatewatch.config.notify import (
    Channel,
    DingTalkChannel,
    FeishuChannel,
    Person,
    SmsChannel,
    SmtpChannel,
    WebhookChannel,
    WeComChannel,
)

WECOM_MAX_BYTES = 4096  # WeCom refuses markdown content over 4096 bytes


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message to one person over one channel; `delivery_id` is stable across retries."""

    delivery_id: str
    person: Person
    message: Rendered
    data: dict[str, Any]


class Sender(Protocol):
    name: str

    async def send(self, envelope: Envelope) -> None: ...


def _secret(secrets: Mapping[str, str], ref: str | None) -> str | None:
    if ref is None:
        return None
    value = secrets.get(ref)
    if not value:
        raise MissingSecret(f"environment variable {ref} is not set")
    return value


class _Http:
    def __init__(self, name: str, client: httpx.AsyncClient) -> None:
        self.name = name
        self.client = client

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        headers = {"Content-Type": "application/json; charset=utf-8", **headers}
        try:
            response = await self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(self.name, f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise DeliveryError(self.name, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise DeliveryError(self.name, f"HTTP {response.status_code}", permanent=True)
        return response

    def _vendor_ok(self, response: httpx.Response, code_field: str) -> None:
        """The robots answer HTTP 200 with an error code in the body."""
        try:
            answer = response.json()
        except ValueError:
            raise DeliveryError(self.name, "answer is not JSON") from None
        code = answer.get(code_field, answer.get("StatusCode", 0))
        if code != 0:
            message = answer.get("errmsg") or answer.get("msg") or ""
            raise DeliveryError(self.name, f"refused: {code} {message}")


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookSender(_Http):
    def __init__(
        self, cfg: WebhookChannel, client: httpx.AsyncClient, secret: str | None, clock: Clock
    ) -> None:
        super().__init__(cfg.id, client)
        self.cfg, self.secret, self.clock = cfg, secret, clock

    async def send(self, envelope: Envelope) -> None:
        body = _dumps(
            {
                "delivery_id": envelope.delivery_id,
                "recipient": envelope.person.id,
                "title": envelope.message.title,
                "text": envelope.message.markdown,
                **envelope.data,
            }
        )
        headers = {
            signing.WEBHOOK_DELIVERY: envelope.delivery_id,
            signing.WEBHOOK_TIMESTAMP: str(to_epoch_ms(self.clock.now())),
        }
        if self.secret:
            headers[signing.WEBHOOK_SIGNATURE] = signing.webhook_signature(self.secret, body)
        await self._post(self.cfg.url, body, headers)


class DingTalkSender(_Http):
    def __init__(
        self, cfg: DingTalkChannel, client: httpx.AsyncClient, secret: str | None, clock: Clock
    ) -> None:
        super().__init__(cfg.id, client)
        self.cfg, self.secret, self.clock = cfg, secret, clock

    async def send(self, envelope: Envelope) -> None:
        url = self.cfg.url
        if self.secret:
            url = signing.dingtalk_url(url, self.secret, to_epoch_ms(self.clock.now()))
        text = envelope.message.markdown
        mobiles = [envelope.person.phone] if envelope.person.phone else []
        if mobiles:  # DingTalk notifies an @-mentioned member only if the text names them
            text += f"\n\n@{envelope.person.phone}"
        body = {
            "msgtype": "markdown",
            "markdown": {"title": envelope.message.title, "text": text},
            "at": {"atMobiles": mobiles, "isAtAll": False},
        }
        self._vendor_ok(await self._post(url, _dumps(body), {}), "errcode")


class WeComSender(_Http):
    def __init__(self, cfg: WeComChannel, client: httpx.AsyncClient) -> None:
        super().__init__(cfg.id, client)
        self.cfg = cfg

    async def send(self, envelope: Envelope) -> None:
        content = envelope.message.markdown
        if envelope.person.phone:
            content += f"\n<@{envelope.person.phone}>"
        data = content.encode()
        if len(data) > WECOM_MAX_BYTES:
            content = data[: WECOM_MAX_BYTES - 3].decode(errors="ignore") + "…"
        body = {"msgtype": "markdown", "markdown": {"content": content}}
        self._vendor_ok(await self._post(self.cfg.url, _dumps(body), {}), "errcode")


class FeishuSender(_Http):
    def __init__(
        self, cfg: FeishuChannel, client: httpx.AsyncClient, secret: str | None, clock: Clock
    ) -> None:
        super().__init__(cfg.id, client)
        self.cfg, self.secret, self.clock = cfg, secret, clock

    async def send(self, envelope: Envelope) -> None:
        body: dict[str, Any] = {
            "msg_type": "interactive",
            "card": {
                "header": {"title": {"tag": "plain_text", "content": envelope.message.title}},
                "elements": [{"tag": "markdown", "content": envelope.message.markdown}],
            },
        }
        if self.secret:
            ts = to_epoch_ms(self.clock.now()) // 1000
            body = {"timestamp": str(ts), "sign": signing.feishu_sign(self.secret, ts), **body}
        self._vendor_ok(await self._post(self.cfg.url, _dumps(body), {}), "code")


class SmsSender(_Http):
    def __init__(self, cfg: SmsChannel, client: httpx.AsyncClient, key: str | None) -> None:
        super().__init__(cfg.id, client)
        self.cfg, self.key = cfg, key or ""

    async def send(self, envelope: Envelope) -> None:
        phone = envelope.person.phone
        if not phone:
            raise DeliveryError(self.name, f"{envelope.person.id} has no phone", permanent=True)
        text = envelope.message.plain[: self.cfg.max_chars]
        values = {"phone": phone, "text": text, "key": self.key}
        body = {k: v.format_map(values) for k, v in self.cfg.body.items()}
        headers = {k: v.format_map(values) for k, v in self.cfg.headers.items()}
        if self.cfg.method == "GET":
            try:
                response = await self.client.get(self.cfg.url, params=body, headers=headers)
            except httpx.HTTPError as exc:
                raise DeliveryError(self.name, f"{type(exc).__name__}: {exc}") from None
            if response.status_code >= 400:
                raise DeliveryError(self.name, f"HTTP {response.status_code}")
            return
        await self._post(self.cfg.url, _dumps(body), headers)


class SmtpSender:
    def __init__(self, cfg: SmtpChannel, password: str | None) -> None:
        self.name = cfg.id
        self.cfg, self.password = cfg, password
        self.tls = ssl.create_default_context()

    def with_tls_context(self, context: ssl.SSLContext) -> SmtpSender:
        """Trust another TLS context (a site's own CA; tests' self-signed server)."""
        self.tls = context
        return self

    async def send(self, envelope: Envelope) -> None:
        if not envelope.person.email:
            raise DeliveryError(self.name, f"{envelope.person.id} has no e-mail", permanent=True)
        mail = EmailMessage()
        mail["From"] = self.cfg.sender
        mail["To"] = envelope.person.email
        mail["Subject"] = envelope.message.title
        mail["Message-ID"] = f"<{envelope.delivery_id}@estatewatch>"
        mail.set_content(envelope.message.plain + "\n")
        try:
            await asyncio.to_thread(self._send, mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                self.name, f"login refused: {exc.smtp_code}", permanent=True
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(self.name, f"{type(exc).__name__}: {exc}") from None

    def _send(self, mail: EmailMessage) -> None:
        cfg, timeout = self.cfg, self.cfg.timeout.total_seconds()
        smtp: smtplib.SMTP
        if cfg.security == "ssl":
            smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=timeout, context=self.tls)
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=timeout)
        with smtp:
            if cfg.security == "starttls":
                smtp.starttls(context=self.tls)
            if cfg.username:
                smtp.login(cfg.username, self.password or "")
            smtp.send_message(mail)


def build(
    cfg: Channel, *, client: httpx.AsyncClient, secrets: Mapping[str, str], clock: Clock
) -> Sender:
    """The sender for a configured channel (secrets looked up now: a missing one fails fast)."""
    if isinstance(cfg, WebhookChannel):
        return WebhookSender(cfg, client, _secret(secrets, cfg.secret_ref), clock)
    if isinstance(cfg, DingTalkChannel):
        return DingTalkSender(cfg, client, _secret(secrets, cfg.secret_ref), clock)
    if isinstance(cfg, WeComChannel):
        return WeComSender(cfg, client)
    if isinstance(cfg, FeishuChannel):
        return FeishuSender(cfg, client, _secret(secrets, cfg.secret_ref), clock)
    if isinstance(cfg, SmsChannel):
        return SmsSender(cfg, client, _secret(secrets, cfg.key_ref))
    return SmtpSender(cfg, _secret(secrets, cfg.password_ref))
