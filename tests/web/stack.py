"""A live EstateWatch for the browser tests: the simulated estate, its readings in a real
InfluxDB, the API on uvicorn (with the web router) consuming a real Mosquitto, and a small
stand-in for the rules engine that turns simulated values into `AlarmEvent`s on the
contract's alarm topic and answers acknowledgements, as the rules engine does.

Everything runs in one background thread's event loop, so the tests (sync Playwright) stay
in the main thread and reach the estate through `LiveStack.call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn

from api.app import create_app
from api.domain.permissions import Role
from api.schemas.user import UserCreate
from api.settings import Settings
from api.sites import Sites
from api.workflows import users
from estatewatch.clock import SystemClock, to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.codec import decode
from estatewatch.contracts.payloads import AlarmCommand, AlarmEvent, DeviceStatus, Scalar, stable_id
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.readings import InfluxConnection, InfluxQLStore
from estatewatch.testing.services import free_port
from rules.devices import render
from rules.loader import parse_rules
from simulators.estate import SimulatedEstate
from simulators.harness import run_estate
from tests.dates import utc

T = TypeVar("T")
T0_WEB = utc(0, 8)  # 16:00 in Shanghai: the day shift
PASSWORD = "correct horse battery"
GATEWAY = "gw-harbour-1"
OFFLINE_DEVICE = "temp-fire-control"  # reported offline, and no readings written

USERS: dict[str, tuple[Role, str, str, str | None]] = {
    # username: role, full name, contact, guard id
    "chen": (Role.DUTY_ENGINEER, "陈值班", "0755-8888 0001", None),
    "zhou": (Role.DUTY_ENGINEER, "周接班", "0755-8888 0003", None),  # the next shift
    "wang": (Role.SUPERVISOR, "王主管", "0755-8888 0002", None),
    "liu": (Role.TECHNICIAN, "刘师傅", "138 0000 0001", None),
    "zhang": (Role.GUARD, "张伟", "138 0000 0002", "guard-zhang"),
    "sun": (Role.CUSTOMER_SERVICE, "孙客服", "0755-8888 0005", None),
    "li": (Role.ADMIN, "李管理", "0755-8888 0006", None),
}


@dataclass
class Condition:
    """One alarm the stand-in rules engine raises while `holds(values)` is true."""

    rule: str
    category: str
    severity: str
    device: str
    value_point: str
    holds: Callable[[dict[str, Scalar]], bool]
    alarm_id: str | None = None
    revision: int = 0
    raised_at: int = 0


def conditions() -> list[Condition]:
    return [
        *(
            Condition(
                "elevator.entrapment",
                "entrapment",
                "critical",
                car,
                "fault_code",
                lambda v: v.get("fault_code") == 31,
            )
            # one car per board test that acknowledges its own entrapment
            for car in ("elevator-3", "elevator-5", "elevator-7")
        ),
        Condition(
            "pump.tank_low",
            "tank_low",
            "major",
            "pump-domestic-high",
            "tank_level",
            lambda v: v.get("tank_low_switch") is True,
        ),
    ]


def texts(site: SiteConfig, c: Condition, values: dict[str, Scalar]) -> dict[str, str]:
    """The alarm's title and message in both languages, from the built-in rule's texts as
    the rules engine fills them (each language with its own names)."""
    rule = next(r for r in parse_rules(None).device_rules if r.id == c.rule)
    device = site.device(c.device)
    value = values.get(c.value_point)
    enum = None
    if device.register_map is not None:
        point = next(
            p for p in site.register_maps[device.register_map].points if p.name == c.value_point
        )
        enum = (point.enum or {}).get(int(value)) if isinstance(value, int | float) else None
    found = {}
    for lang, suffix in (("en", ""), ("zh-CN", "_zh")):
        context = {
            "device_name": device.name.pick(lang),
            "value": ""
            if value is None
            else f"{value:.4g}"
            if isinstance(value, float)
            else str(value),
            "value_text": enum.pick(lang) if enum is not None else str(value),
        }
        found[f"title{suffix}"] = render(rule.title.pick(lang), context)
        found[f"message{suffix}"] = render(rule.message.pick(lang), context)
    return found


def line(kind: str, tags: dict[str, str], values: dict[str, Scalar], ts: int) -> str:
    """One line of InfluxDB line protocol, by the schema in `estatewatch.readings.schema`."""
    fields = []
    for name, value in values.items():
        if isinstance(value, bool):
            fields.append(f"{name}={'true' if value else 'false'}")
        elif isinstance(value, int | float):
            if value == value and abs(value) != float("inf"):
                fields.append(f"{name}={float(value)!r}")
        else:
            text = str(value).replace("\\", "\\\\").replace('"', '\\"')
            fields.append(f'{name}="{text}"')
    tag_text = ",".join(f"{k}={v}" for k, v in sorted(tags.items()))
    return f"{kind},{tag_text} {','.join(fields)} {ts}"


@dataclass
class LiveStack:
    site: SiteConfig
    workdir: Path
    mqtt_url: str
    influx_url: str
    url: str = ""
    port: int = field(default_factory=free_port)
    estate: SimulatedEstate | None = None
    published: list[AlarmEvent] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _stop: asyncio.Event | None = None
    _error: BaseException | None = None
    _conditions: list[Condition] = field(default_factory=conditions)

    # --- from the test thread ------------------------------------------------------------

    def start(self, timeout: float = 60) -> None:
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._run, name="live-stack", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError(f"the live stack did not start: {self._error!r}")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` in the stack's loop thread (the estate is not thread-safe)."""
        return self.run(self._wrap(fn))

    def run(self, coro: Awaitable[T], timeout: float = 30) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(_awaitable(coro), self._loop).result(timeout)

    @staticmethod
    async def _wrap(fn: Callable[[], T]) -> T:
        return fn()

    # --- in the loop thread --------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start() and by the test that waits
            self._error = exc
            self._ready.set()

    def _settings(self) -> Settings:
        return Settings(
            environment="development",
            database_url=str(self.workdir / "web.db"),
            photo_dir=self.workdir / "photos",
            password_cost=12,
            mqtt_url=self.mqtt_url,
            mqtt_client_id=f"ew-api-web-{self.port}",
            outbox_poll_interval="1s",  # type: ignore[arg-type]
            access_token_ttl="12h",  # type: ignore[arg-type]
        )

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        database = f"web_{self.port}"
        async with AsyncExitStack() as stack:
            store = await stack.enter_async_context(
                InfluxQLStore(InfluxConnection(self.influx_url, database))
            )
            await store.setup()
            self.estate = await stack.enter_async_context(run_estate(self.site, seed=1))
            app = create_app(self._settings(), sites=Sites([self.site]), readings=store)
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
            )
            serving = asyncio.create_task(server.serve())
            stack.push_async_callback(self._shutdown, server, serving)
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.05)
            await asyncio.to_thread(self._seed_users, app.state.runtime)
            mqtt = await stack.enter_async_context(
                MqttClient(MqttSettings(url=self.mqtt_url, client_id=f"ew-rules-web-{self.port}"))
            )
            await mqtt.subscribe(topics.alarm_command_filter(self.site.site.id), qos=1)
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
            await self._publish_statuses(mqtt)
            await self._write_readings(http, database)
            await self._consumed(http, len(self.site.devices))
            tasks = [
                asyncio.create_task(self._every(1.0, lambda: self._write_readings(http, database))),
                asyncio.create_task(self._every(0.25, lambda: self._evaluate(mqtt))),
                asyncio.create_task(self._answer_commands(mqtt)),
            ]
            try:
                self._ready.set()
                await self._stop.wait()
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    @staticmethod
    async def _shutdown(server: uvicorn.Server, serving: asyncio.Task[None]) -> None:
        server.should_exit = True
        await serving

    def _seed_users(self, runtime: Any) -> None:
        with runtime.db.write() as session:
            for name, (role, full_name, contact, guard_id) in USERS.items():
                data = UserCreate(
                    username=name,
                    password=PASSWORD,
                    role=role,
                    full_name=full_name,
                    contact=contact,
                    guard_id=guard_id,
                )
                users.create(session, data=data, cost=12, now=runtime.clock.now())

    @staticmethod
    async def _every(seconds: float, body: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            await body()

    async def _write_readings(self, http: httpx.AsyncClient, database: str) -> None:
        assert self.estate is not None
        ts = to_epoch_ms(SystemClock().now())
        lines = []
        for device in self.site.devices:
            if device.id == OFFLINE_DEVICE:
                continue
            tags = {"building": device.building, "device": device.id, "room": device.room}
            tags["site"] = self.site.site.id
            lines.append(line(device.kind, tags, self.estate.values(device.id), ts))
        response = await http.post(
            f"{self.influx_url}/write",
            params={"db": database, "precision": "ms"},
            content="\n".join(lines).encode(),
        )
        response.raise_for_status()

    async def _consumed(self, http: httpx.AsyncClient, changes: int) -> None:
        """Wait (at most 30 s) until the API has taken in `changes` feed changes from the
        broker, so a test never starts against an API that is not consuming."""
        async with asyncio.timeout(30):
            for _ in itertools.count():
                if (await http.get(f"{self.url}/health")).json()["feed_seq"] >= changes:
                    return
                await asyncio.sleep(0.1)

    async def _publish_statuses(self, mqtt: MqttClient) -> None:
        now = to_epoch_ms(SystemClock().now())
        for seq, device in enumerate(self.site.devices, start=1):
            offline = device.id == OFFLINE_DEVICE
            status = DeviceStatus(
                site=self.site.site.id,
                gateway=GATEWAY,
                seq=seq,
                device=device.id,
                kind=device.kind,
                building=device.building,
                room=device.room,
                state="offline" if offline else "online",
                ts=now,
                since=now - 300_000 if offline else now - 3_600_000,
                last_seen=now - 300_000 if offline else now,
                consecutive_failures=5 if offline else 0,
            )
            topic = topics.device_status(self.site.site.id, device.id)
            await mqtt.publish(topic, status.to_bytes(), qos=1, retain=True)

    # --- the rules engine stand-in -------------------------------------------------------

    def _event(self, c: Condition, event: str, *, active: bool, **extra: Any) -> AlarmEvent:
        assert self.estate is not None
        assert c.alarm_id is not None
        device = self.site.device(c.device)
        values = self.estate.values(c.device)
        now = to_epoch_ms(SystemClock().now())
        c.revision += 1
        return AlarmEvent(
            event_id=f"{c.alarm_id}:{c.revision}",
            alarm_id=c.alarm_id,
            revision=c.revision,
            event=event,
            site=self.site.site.id,
            rule=c.rule,
            category=c.category,
            severity=c.severity,
            target_kind="device",
            target=c.device,
            device_kind=device.kind,
            building=device.building,
            room=device.room,
            **texts(self.site, c, values),
            raised_at=c.raised_at,
            ts=now,
            active=active,
            value=values.get("fault_code"),
            details={k: v for k, v in values.items() if k in ("floor", "load", "tank_level")},
            **extra,
        )

    async def _publish(self, mqtt: MqttClient, event: AlarmEvent) -> None:
        self.published.append(event)
        await mqtt.publish(topics.alarm(event.site, event.alarm_id), event.to_bytes(), qos=1)

    async def _evaluate(self, mqtt: MqttClient) -> None:
        assert self.estate is not None
        for c in self._conditions:
            holds = c.holds(self.estate.values(c.device))
            if holds and c.alarm_id is None:
                c.raised_at = to_epoch_ms(SystemClock().now())
                c.alarm_id = stable_id(self.site.site.id, c.rule, c.device, c.raised_at)
                c.revision = 0
                await self._publish(mqtt, self._event(c, "raised", active=True))

    async def _answer_commands(self, mqtt: MqttClient) -> None:
        async for message in mqtt.messages():
            command = decode(AlarmCommand, message.topic, message.payload)
            found = next((c for c in self._conditions if c.alarm_id == command.alarm_id), None)
            if found is None or command.action != "acknowledge":
                continue
            event = self._event(
                found, "acknowledged", active=True, acknowledged=True, acknowledged_by=command.by
            )
            await self._publish(mqtt, event)


async def _awaitable(coro: Awaitable[T]) -> T:
    return await coro
