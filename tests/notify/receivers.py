"""Real receivers on 127.0.0.1 for the notification tests.

`VendorReceiver` is an HTTP server (stdlib, in a thread) answering as each vendor does and
checking each signature the way the vendor documents it, written here independently of the
sender's code. `MailServer` is a real aiosmtpd SMTP server (STARTTLS or SSL, with login).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from estatewatch.testing.services import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, str]
    arrived: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class VendorReceiver:
    """Answers /webhook, /dingtalk, /wecom, /feishu, /sms. `secrets` per path; a request
    whose signature does not verify is refused as the vendor would (and kept in `refused`)."""

    now_ms: Callable[[], int]
    secrets: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    down: bool = False  # answer 503 to everything
    fail_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                status, answer = receiver.handle(self.path, dict(self.headers), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> VendorReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def of(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def handle(self, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        path = parts.path.strip("/")
        with self.lock:
            if self.down:
                return 503, {"error": "down"}
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {"error": "try later"}
        problem = self.verify(path, headers, body, parts.query)
        with self.arrived:
            if problem is not None:
                self.refused.append((path, problem))
            else:
                self.received.append(Received(path, headers, body, query))
                self.arrived.notify_all()
        if path == "dingtalk":
            return 200, {"errcode": 310000 if problem else 0, "errmsg": problem or "ok"}
        if path == "wecom":
            return 200, {"errcode": 93000 if problem else 0, "errmsg": problem or "ok"}
        if path == "feishu":
            return 200, {"code": 19021 if problem else 0, "msg": problem or "success"}
        return (401, {"error": problem}) if problem else (200, {"ok": True})

    def verify(self, path: str, headers: dict[str, str], body: bytes, raw_query: str) -> str | None:
        secret = self.secrets.get(path)
        hour_ms = 3_600_000
        if path == "webhook" and secret:
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(headers.get("X-EstateWatch-Signature", ""), expected):
                return "bad signature"
        if path == "dingtalk":
            payload = json.loads(body)
            if payload.get("msgtype") != "markdown" or "text" not in payload["markdown"]:
                return "not a markdown message"
            if secret:
                # DingTalk: sign = urlencode(base64(HmacSHA256(key=secret,
                # "timestamp\nsecret"))); the timestamp (ms) within one hour of now.
                fields = dict(p.split("=", 1) for p in raw_query.split("&") if "=" in p)
                timestamp, sign = fields.get("timestamp", ""), unquote_plus(fields.get("sign", ""))
                if not timestamp.isdigit() or abs(int(timestamp) - self.now_ms()) > hour_ms:
                    return "timestamp out of range"
                digest = hmac.new(
                    secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256
                ).digest()
                if base64.b64encode(digest).decode() != sign:
                    return "sign not match"
        if path == "wecom":
            payload = json.loads(body)
            if (
                payload.get("msgtype") != "markdown"
                or len(payload["markdown"]["content"].encode()) > 4096
            ):
                return "invalid markdown"
        if path == "feishu":
            payload = json.loads(body)
            if secret:
                # Feishu: HmacSHA256 with key "timestamp\nsecret" over empty data, base64;
                # timestamp in seconds within one hour.
                timestamp = str(payload.get("timestamp", ""))
                if not timestamp.isdigit() or abs(int(timestamp) * 1000 - self.now_ms()) > hour_ms:
                    return "timestamp out of range"
                key = f"{timestamp}\n{secret}".encode()
                expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
                if payload.get("sign") != expected:
                    return "sign match fail"
        return None


# --- SMTP --------------------------------------------------------------------------------


def self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, Message]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        with self.lock:
            self.messages.append((envelope, message_from_bytes(envelope.content)))
        return "250 OK"


class MailServer:
    """aiosmtpd on 127.0.0.1: `mode` "starttls" (login required after STARTTLS) or "ssl"."""

    def __init__(self, mode: str, cert: Path, key: Path, user: str, password: str) -> None:
        self.mode = mode
        self.inbox = _Inbox()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)

        def authenticate(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                user.encode(),
                password.encode(),
            )
            return AuthResult(success=ok, handled=False)

        options: dict[str, Any] = {"authenticator": authenticate, "auth_require_tls": True}
        if mode == "starttls":
            options["tls_context"] = context
            options["require_starttls"] = True
            self.controller = Controller(
                self.inbox, hostname="127.0.0.1", port=free_port(), **options
            )
        else:
            # aiosmtpd only counts STARTTLS as TLS for auth_require_tls; this whole
            # connection is TLS already.
            options["auth_require_tls"] = False
            self.controller = Controller(
                self.inbox, hostname="127.0.0.1", port=free_port(), ssl_context=context, **options
            )

    @property
    def port(self) -> int:
        server = self.controller.server
        assert server is not None
        return int(server.sockets[0].getsockname()[1])

    @property
    def messages(self) -> list[tuple[Envelope, Message]]:
        with self.inbox.lock:
            return list(self.inbox.messages)
