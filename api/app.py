"""The FastAPI application: `create_app(settings, clock=...)`.

Start-up (the lifespan) migrates the database, creates the bootstrap admin if asked, and
starts what runs in the background (`_services`): the MQTT bus (when `mqtt_url` is set), the
SLA checker, the maintenance generator, the feed pruner, the live-stream hub and the
notifier (when `notify` is set). Shutdown stops them in reverse order and closes the
database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import Depends, FastAPI

from api.bus import Bus
from api.db import Database
from api.docs_pages import install_docs
from api.domain.permissions import Role
from api.errors import install_problem_handlers
from api.feedhub import FeedHub
from api.incidents.automation import IncidentReactions
from api.notify.dispatcher import Notifier
from api.openapi import AllowHeaders, document_responses
from api.readings import store_for
from api.routes import (
    alarms,
    auth,
    devices,
    fire,
    group,
    handovers,
    health,
    incidents,
    maintenance,
    metrics,
    notifications,
    order_work,
    patrol,
    photos,
    quality,
    records,
    reports,
    roster,
    stream,
    users,
    workorders,
)
from api.routes import readings as device_readings
from api.runtime import Runtime, Services
from api.schemas.user import UserCreate
from api.scoping import guard_estates
from api.settings import Settings
from api.sites import Sites
from api.store import users as user_store
from api.tasks import FeedPruner, MaintenanceGenerator, SlaChecker
from api.web import routes as web_pages
from api.workflows import users as user_flows
from estatewatch import __version__
from estatewatch.clock import Clock, SystemClock
from estatewatch.readings import ReadingStore

log = logging.getLogger(__name__)

ROUTERS = (
    auth,
    users,
    alarms,
    workorders,
    order_work,
    patrol,
    photos,
    maintenance,
    notifications,
    roster,
    incidents,
    quality,
    devices,
    device_readings,
    reports,
    fire,
    handovers,
    records,
    group,
    stream,
    health,
    metrics,
    web_pages,
)


def bootstrap_admin(runtime: Runtime) -> bool:
    """Create user `admin` from `EW_BOOTSTRAP_ADMIN_PASSWORD` when there are no users."""
    password = runtime.settings.bootstrap_admin_password
    if password is None:
        return False
    with runtime.db.write() as session:
        if user_store.count(session) > 0:
            return False
        user_flows.create(
            session,
            data=UserCreate(
                username="admin", password=password.get_secret_value(), role=Role.ADMIN
            ),
            cost=runtime.settings.password_cost,
            now=runtime.clock.now(),
        )
    log.info("created the bootstrap admin user")
    return True


@asynccontextmanager
async def _services(rt: Runtime) -> AsyncIterator[Services]:
    """Start the background services, each with only what it needs; stop them in reverse
    order when the block ends."""
    settings = rt.settings
    every = settings.sla_check_interval
    async with AsyncExitStack() as stack:
        bus = None
        if settings.mqtt_url is not None:
            bus = await stack.enter_async_context(
                Bus(settings, db=rt.db, sites=rt.sites, clock=rt.clock, pulse=rt.pulse)
            )
        sla_checker = await stack.enter_async_context(
            SlaChecker(rt.db, rt.sites, rt.clock, interval=every)
        )
        maintenance = await stack.enter_async_context(
            MaintenanceGenerator(rt.db, rt.sites, rt.clock, rt.readings, interval=every)
        )
        pruner = await stack.enter_async_context(
            FeedPruner(rt.db, rt.clock, retention=settings.feed_retention, interval=every)
        )
        feed_hub = await stack.enter_async_context(
            FeedHub(rt.db, rt.pulse, poll_interval=settings.stream_poll_interval.total_seconds())
        )
        notifier = None
        if settings.notify:
            notifier = await stack.enter_async_context(
                Notifier(
                    rt.db,
                    rt.sites,
                    rt.clock,
                    pulse=rt.pulse,
                    poll_interval=settings.notify_poll_interval.total_seconds(),
                    reactions=IncidentReactions(),
                )
            )
        yield Services(
            bus=bus,
            feed_hub=feed_hub,
            notifier=notifier,
            sla_checker=sla_checker,
            maintenance=maintenance,
            pruner=pruner,
        )


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sites: Sites | None = None,
    readings: ReadingStore | None = None,
    on_started: Callable[[], None] | None = None,
) -> FastAPI:
    """Build the API. Site files and the dispatch policy are read now, so a bad one stops
    start-up with every problem named. `readings` answers a device's latest values, history
    and operation log; without it, the store `settings.readings_url` names is opened for the
    app's lifetime (and without that, those endpoints answer 503). `on_started` runs once
    every service is up, before the first request."""
    clock = clock or SystemClock()
    owned = None if readings is not None else store_for(settings, clock)
    runtime = Runtime(
        settings=settings,
        clock=clock,
        db=Database(settings.database_url),
        sites=sites or Sites.load(settings.sites, settings.dispatch_policy),
        readings=readings if readings is not None else owned,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.callback(runtime.db.dispose)
            if owned is not None:
                await stack.enter_async_context(owned)
            await asyncio.to_thread(runtime.db.migrate)
            await asyncio.to_thread(bootstrap_admin, runtime)
            stack.callback(runtime.pulse.forget, asyncio.get_running_loop())
            runtime.services = await stack.enter_async_context(_services(runtime))
            stack.callback(setattr, runtime, "services", Services())
            if on_started is not None:
                on_started()
            yield

    app = FastAPI(
        title="EstateWatch API",
        version=__version__,
        description="Alarms, work orders, patrols and equipment of managed estates.",
        lifespan=lifespan,
        dependencies=[Depends(guard_estates)],
        docs_url=None,  # served from the package by install_docs, not from a CDN
        redoc_url=None,
    )
    install_docs(app)
    app.state.runtime = runtime
    install_problem_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router)
    document_responses(app)
    app.add_middleware(AllowHeaders, document=app.openapi)
    return app
