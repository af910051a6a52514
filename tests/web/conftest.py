"""Fixtures of the web tests: the live stack (estate, InfluxDB readings, API with the web
router on uvicorn, Mosquitto, rules stand-in) and one headless Chromium for the module.

Chromium is Debian's (`apt-get install -y chromium`), driven by Playwright
(`pip install playwright`); Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from estatewatch.config import SiteConfig
from estatewatch.config.patrol import PatrolWindow, RouteSchedule
from estatewatch.testing.services import InfluxDB, Mosquitto
from tests.web.pages import Console
from tests.web.stack import LiveStack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "web"
DOC_SCREENSHOTS = ROOT / "docs" / "screenshots"


def _missing(what: str) -> None:
    message = f"{what} (see docs/dashboard.md, 'Test it')"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def rounds_open_now(site: SiteConfig) -> SiteConfig:
    """The site with every route's round open from a few minutes ago for three hours, in
    the shift running now: the live stack runs on real time, and a scan made before a round
    opens is refused, so the pages' scans must fall in a round whatever the time of day."""
    tz = ZoneInfo(site.site.timezone)
    local = datetime.now(tz)
    shift = next(
        s
        for s in site.shifts
        if (s.start <= local.time() < s.end)
        or (s.end <= s.start and (local.time() >= s.start or local.time() < s.end))
    )
    start = (local - timedelta(minutes=10)).time().replace(second=0, microsecond=0)
    window = PatrolWindow(start=start, duration=timedelta(hours=3))
    routes = [
        r.model_copy(update={"schedule": [RouteSchedule(shift=shift.id, windows=[window])]})
        for r in site.routes
    ]
    return site.model_copy(update={"routes": routes})


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory,
    example_site: SiteConfig,
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
) -> Iterator[LiveStack]:
    site = rounds_open_now(example_site)
    stack = LiveStack(site, tmp_path_factory.mktemp("web"), mosquitto.url, influxdb.url)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install playwright)")
    if not CHROMIUM.exists():
        _missing("Debian's Chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot among the test artifacts, and into docs/screenshots when
    EW_UPDATE_SCREENSHOTS=1 (so an ordinary run leaves the docs alone)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if os.environ.get("EW_UPDATE_SCREENSHOTS") == "1":
        DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (DOC_SCREENSHOTS / path.name).write_bytes(path.read_bytes())
    return path


@pytest.fixture
def console() -> Console:
    """Console errors of the pages a test watches (`console.watch(page)`)."""
    return Console()


@pytest.fixture
def pages(browser: Any) -> Iterator[list[Any]]:
    """Pages a test opens: their browser contexts are closed after it, pass or fail."""
    opened: list[Any] = []
    yield opened
    for page in opened:
        page.context.close()
