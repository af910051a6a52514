"""Each channel against a real receiver that checks the vendor's signature."""

from __future__ import annotations

import ssl
from datetime import UTC
from pathlib import Path

import httpx
import pytest

from api.notify import channels, signing
from api.notify.channels import Envelope
from api.notify.errors import DeliveryError, MissingSecret
from api.notify.templates import Line, render
from estatewatch.clock import FakeClock
from estatewatch.config.notify import (
    DingTalkChannel,
    FeishuChannel,
    Language,
    OnCallRole,
    Person,
    SmsChannel,
    SmtpChannel,
    WebhookChannel,
    WeComChannel,
)
from tests.dates import utc
from tests.notify.conftest import SECRETS
from tests.notify.receivers import MailServer, VendorReceiver

ENV = {"WH": SECRETS["webhook"], "DING": SECRETS["dingtalk"], "FS": SECRETS["feishu"]}
ENV |= {"SMS_KEY": "k-123", "SMTP_PW": "smtp-pass"}
WANG = Person(
    id="wang-duty",
    name="王工",
    role=OnCallRole.DUTY_ENGINEER,
    phone="13800000001",
    email="wang@example.cn",
    channels=["x"],
)


def envelope(language: Language = Language.ZH_CN) -> Envelope:
    line = Line(
        severity="critical",
        what="1号配电房 停电",
        where="裙楼 配电房",
        since=utc(0, 19, 5),
        link="http://ew.local/alarms/a1",
    )
    message = render([line], language=language, tz=UTC)
    return Envelope("d-1", WANG, message, {"subject_id": "a1"})


async def send(cfg: object, clock: FakeClock, env: dict[str, str] = ENV) -> None:
    async with httpx.AsyncClient() as client:
        sender = channels.build(cfg, client=client, secrets=env, clock=clock)  # type: ignore[arg-type]
        await sender.send(envelope())


async def test_webhook_is_signed_over_the_exact_body(
    receiver: VendorReceiver, clock: FakeClock
) -> None:
    cfg = WebhookChannel(type="webhook", id="ops", url=f"{receiver.base}/webhook", secret_ref="WH")
    await send(cfg, clock)
    (got,) = receiver.of("webhook")
    assert got.headers[signing.WEBHOOK_DELIVERY] == "d-1"
    assert got.json()["subject_id"] == "a1"
    assert "停电" in got.json()["text"]


async def test_webhook_with_the_wrong_secret_is_refused(
    receiver: VendorReceiver, clock: FakeClock
) -> None:
    cfg = WebhookChannel(type="webhook", id="ops", url=f"{receiver.base}/webhook", secret_ref="WH")
    with pytest.raises(DeliveryError) as caught:
        await send(cfg, clock, {**ENV, "WH": "not-the-secret"})
    assert caught.value.permanent
    assert receiver.refused == [("webhook", "bad signature")]


async def test_dingtalk_robot_signature_and_markdown(
    receiver: VendorReceiver, clock: FakeClock
) -> None:
    url = f"{receiver.base}/dingtalk?access_token=abc"
    await send(DingTalkChannel(type="dingtalk", id="d", url=url, secret_ref="DING"), clock)
    (got,) = receiver.of("dingtalk")
    assert got.query["access_token"] == "abc"
    body = got.json()
    assert body["at"]["atMobiles"] == ["13800000001"]
    assert "【紧急】1号配电房 停电" in body["markdown"]["text"]


async def test_dingtalk_refuses_a_stale_timestamp(
    receiver: VendorReceiver, clock: FakeClock
) -> None:
    cfg = DingTalkChannel(
        type="dingtalk", id="d", url=f"{receiver.base}/dingtalk", secret_ref="DING"
    )
    stale = FakeClock(utc(0, 5))  # three hours behind
    with pytest.raises(DeliveryError, match="310000"):
        await send(cfg, stale)
    assert receiver.refused == [("dingtalk", "timestamp out of range")]


async def test_wecom_markdown(receiver: VendorReceiver, clock: FakeClock) -> None:
    await send(WeComChannel(type="wecom", id="w", url=f"{receiver.base}/wecom?key=k"), clock)
    (got,) = receiver.of("wecom")
    assert got.json()["msgtype"] == "markdown"
    assert "<@13800000001>" in got.json()["markdown"]["content"]


async def test_feishu_signature(receiver: VendorReceiver, clock: FakeClock) -> None:
    await send(
        FeishuChannel(type="feishu", id="f", url=f"{receiver.base}/feishu", secret_ref="FS"), clock
    )
    (got,) = receiver.of("feishu")
    card = got.json()["card"]
    assert card["elements"][0]["tag"] == "markdown"


async def test_feishu_wrong_secret_is_refused(receiver: VendorReceiver, clock: FakeClock) -> None:
    cfg = FeishuChannel(type="feishu", id="f", url=f"{receiver.base}/feishu", secret_ref="FS")
    with pytest.raises(DeliveryError, match="19021"):
        await send(cfg, clock, {**ENV, "FS": "wrong"})
    assert receiver.refused == [("feishu", "sign match fail")]


async def test_sms_gateway_template(receiver: VendorReceiver, clock: FakeClock) -> None:
    cfg = SmsChannel(
        type="sms",
        id="sms",
        url=f"{receiver.base}/sms",
        body={"mobile": "{phone}", "content": "【物业】{text}"},
        headers={"Authorization": "Bearer {key}"},
        key_ref="SMS_KEY",
    )
    await send(cfg, clock)
    (got,) = receiver.of("sms")
    assert got.headers["Authorization"] == "Bearer k-123"
    assert got.json()["mobile"] == "13800000001"
    assert got.json()["content"].startswith("【物业】【紧急】1号配电房 停电")


async def test_a_dead_endpoint_is_a_retryable_failure(
    receiver: VendorReceiver, clock: FakeClock
) -> None:
    receiver.down = True
    cfg = WeComChannel(type="wecom", id="w", url=f"{receiver.base}/wecom")
    with pytest.raises(DeliveryError) as caught:
        await send(cfg, clock)
    assert not caught.value.permanent


async def test_a_missing_secret_fails_at_build(clock: FakeClock) -> None:
    cfg = FeishuChannel(type="feishu", id="f", url="http://127.0.0.1:9/feishu", secret_ref="NOPE")
    with pytest.raises(MissingSecret, match="NOPE"):
        await send(cfg, clock)


async def test_smtp_delivers_with_login(
    mail_server: MailServer, tls_files: tuple[Path, Path]
) -> None:
    cfg = SmtpChannel(
        type="smtp",
        id="mail",
        host="127.0.0.1",
        port=mail_server.port,
        security=mail_server.mode,  # type: ignore[arg-type]
        username="ew-notify",
        password_ref="SMTP_PW",
        sender="EstateWatch <ew@example.cn>",
    )
    sender = channels.build(cfg, client=httpx.AsyncClient(), secrets=ENV, clock=FakeClock())
    assert isinstance(sender, channels.SmtpSender)
    sender.with_tls_context(ssl.create_default_context(cafile=str(tls_files[0])))
    await sender.send(envelope(Language.EN))
    ((env, mail),) = mail_server.messages
    assert env.rcpt_tos == ["wang@example.cn"]
    assert mail["Message-ID"] == "<d-1@estatewatch>"
    assert "停电" in mail.get_payload(decode=True).decode()


async def test_smtp_wrong_password_is_permanent(
    mail_server: MailServer, tls_files: tuple[Path, Path]
) -> None:
    cfg = SmtpChannel(
        type="smtp",
        id="mail",
        host="127.0.0.1",
        port=mail_server.port,
        security=mail_server.mode,
        username="ew-notify",
        password_ref="SMTP_PW",  # type: ignore[arg-type]
        sender="ew@example.cn",
    )
    sender = channels.build(
        cfg, client=httpx.AsyncClient(), secrets={"SMTP_PW": "bad"}, clock=FakeClock()
    )
    assert isinstance(sender, channels.SmtpSender)
    sender.with_tls_context(ssl.create_default_context(cafile=str(tls_files[0])))
    with pytest.raises(DeliveryError) as caught:
        await sender.send(envelope())
    assert caught.value.permanent
    assert mail_server.messages == []
