"""The demo's notification receiver: a loopback stand-in for the site's robots and hooks.

`estatewatch up` points every channel of the site's `notifications` here (see `demo.py`), so
the notifier really sends — signed where the channel is — and a duty engineer sees what
would have reached DingTalk, WeCom, Feishu, the webhook, SMS or mail:

    POST /robot/{kind}/{channel}   answers as that vendor's robot does (errcode 0 ...)
    GET  /                         the messages received, newest first (refreshes itself)
    GET  /messages                 the same as JSON

Each message is also appended to `notifications.jsonl` in the data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from estatewatch.clock import Clock
from estatewatch.ready import bound_port

KEEP = 500  # messages shown; the file keeps them all
ANSWERS: dict[str, dict[str, Any]] = {
    "dingtalk": {"errcode": 0, "errmsg": "ok"},
    "wecom": {"errcode": 0, "errmsg": "ok"},
    "feishu": {"code": 0, "msg": "success"},
}


@dataclass(frozen=True, slots=True)
class Received:
    received_at: str
    kind: str
    channel: str
    title: str
    text: str
    recipient: str
    signed: bool


def read_message(kind: str, body: Any) -> tuple[str, str, str]:
    """(title, text, recipient) of a robot's or hook's JSON body, as its vendor shapes it."""
    if not isinstance(body, dict):
        return "", json.dumps(body, ensure_ascii=False), ""
    if kind == "dingtalk":
        markdown = body.get("markdown") or {}
        mobiles = (body.get("at") or {}).get("atMobiles") or []
        return markdown.get("title", ""), markdown.get("text", ""), ",".join(mobiles)
    if kind == "wecom":
        content = (body.get("markdown") or {}).get("content", "")
        return content.split("\n", 1)[0].lstrip("# "), content, ""
    if kind == "feishu":
        card = body.get("card") or {}
        title = ((card.get("header") or {}).get("title") or {}).get("content", "")
        elements = card.get("elements") or [{}]
        return title, elements[0].get("content", ""), ""
    if kind in ("webhook", "mail"):
        return body.get("title", ""), body.get("text", ""), body.get("recipient", "")
    # SMS: the provider's own template, whatever its keys are
    return "", json.dumps(body, ensure_ascii=False), ""


def _signed(kind: str, request: Request, body: Any) -> bool:
    if kind == "dingtalk":
        return "sign" in request.query_params
    if kind == "feishu":
        return isinstance(body, dict) and "sign" in body
    return "x-estatewatch-signature" in request.headers


class Inbox:
    """What the receiver got: the last `KEEP` in memory, every one in `log_path`."""

    def __init__(self, log_path: Path, clock: Clock) -> None:
        self.log_path = log_path
        self.clock = clock
        self.messages: deque[Received] = deque(maxlen=KEEP)

    def add(self, kind: str, channel: str, body: Any, *, signed: bool) -> Received:
        title, text, recipient = read_message(kind, body)
        message = Received(
            self.clock.now().isoformat(timespec="seconds"),
            kind,
            channel,
            title,
            text,
            recipient,
            signed,
        )
        self.messages.append(message)
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(asdict(message), ensure_ascii=False) + "\n")
        return message


def receiver_app(inbox: Inbox) -> Starlette:
    async def robot(request: Request) -> Response:
        kind, channel = request.path_params["kind"], request.path_params["channel"]
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        inbox.add(kind, channel, body, signed=_signed(kind, request, body))
        return JSONResponse(ANSWERS.get(kind, {"ok": True}))

    async def messages(request: Request) -> Response:
        return JSONResponse([asdict(m) for m in reversed(inbox.messages)])

    async def page(request: Request) -> Response:
        return HTMLResponse(render_page(list(reversed(inbox.messages))))

    return Starlette(
        routes=[
            Route("/robot/{kind}/{channel}", robot, methods=["POST"]),
            Route("/messages", messages),
            Route("/", page),
        ]
    )


def render_page(messages: list[Received]) -> str:
    rows = "".join(
        "<tr><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>".format(
            *(html.escape(v) for v in (m.received_at, m.kind, m.channel, m.recipient, m.title)),
            html.escape(m.text),
        )
        for m in messages
    )
    empty = "<p>尚未收到通知 · No notification received yet</p>" if not messages else ""
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta http-equiv='refresh' content='5'>"
        "<title>本机通知接收器 · Local notification receiver</title>"
        "<style>body{font-family:sans-serif;margin:1.5em}td{vertical-align:top;"
        "border-bottom:1px solid #ddd;padding:.3em .6em}pre{white-space:pre-wrap;margin:0}"
        "</style></head><body>"
        "<h1>本机通知接收器 · Local notification receiver</h1>"
        "<p>演示环境：通知发往本机，而非真实的钉钉、企业微信、飞书、短信或邮件。"
        " · Demo: notifications go to this machine, not to real DingTalk, WeCom, Feishu, SMS"
        " or mail.</p>"
        f"{empty}<table><tr><th>时间 Time</th><th>渠道 Channel</th><th>收件人 Recipient</th>"
        f"<th>标题 Title</th><th>内容 Text</th></tr>{rows}</table></body></html>"
    )


class _QuietServer(uvicorn.Server):
    """`estatewatch up` owns signal handling; this server must not take SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Receiver:
    """The receiver on 127.0.0.1:`port` (0: one the OS picks) while the block runs."""

    def __init__(self, inbox: Inbox, *, port: int = 0) -> None:
        config = uvicorn.Config(
            receiver_app(inbox), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        self.inbox = inbox
        self.port = port
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Receiver:
        from estatewatch.up.runner import UpError

        self._task = asyncio.create_task(self._server.serve(), name="notify-receiver")
        while not self._server.started:
            if self._task.done():
                with contextlib.suppress(SystemExit):  # uvicorn's answer to a busy port
                    self._task.result()
                raise UpError(f"the notification receiver cannot listen on port {self.port}")
            await asyncio.sleep(0.01)
        self.port = bound_port(self._server)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
