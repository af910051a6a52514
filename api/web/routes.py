"""Serving the pages: `/` the duty-room dashboard, `/guard` the guard's phone page, `/tech`
the technician's phone page, `/group` the group monitoring centre, `/static/...` their
files, and `/web/layout`, the site layout the pages draw (buildings, devices, checkpoints,
routes, rounds of the shift), of the sites the user may see.

The pages are static: they sign in with the OAuth2 password flow and call the API like any
client. Every page is sent with a Content-Security-Policy that allows scripts, styles and
connections to this origin only (no inline script, no CDN), and `Cache-Control: no-cache`
so a wall screen picks up a new version on its next reload.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.deps import CurrentUser, RuntimeDep
from api.web.layout import Layout, site_layout

STATIC_DIR = Path(__file__).resolve().parent / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class _StaticFiles(StaticFiles):
    """Static files that a browser revalidates (ETag) instead of caching blindly."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        # Starlette refuses paths outside the directory; this also hides dot files.
        if any(part.startswith(".") for part in Path(path).parts):
            return "", None
        return super().lookup_path(path)


router = APIRouter(tags=["pages"])
router.mount("/static", _StaticFiles(directory=STATIC_DIR), name="web-static")


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type="text/html", headers=PAGE_HEADERS)


@router.get("/", include_in_schema=False)
def dashboard() -> FileResponse:
    """The duty room's wall screen: alarms, equipment, work orders, patrol."""
    return _page("dashboard.html")


@router.get("/guard", include_in_schema=False)
def guard_page() -> FileResponse:
    """The guard's phone: route, next checkpoint, NFC or typed scans, findings, offline."""
    return _page("guard.html")


@router.get("/tech", include_in_schema=False)
def technician_page() -> FileResponse:
    """The technician's phone: my orders; accept, on site, complete with a note and photo."""
    return _page("tech.html")


@router.get("/records", include_in_schema=False)
def records_page() -> FileResponse:
    """Engineering records: the shift handover to file and sign, the fault analysis."""
    return _page("records.html")


@router.get("/group", include_in_schema=False)
def group_page() -> FileResponse:
    """The group monitoring centre (集团监控中心): every estate the user may see, side by
    side, the one needing attention first; each opens its estate's board."""
    return _page("group.html")


@router.get("/guard-sw.js", include_in_schema=False)
def guard_service_worker() -> FileResponse:
    """The guard page's service worker, served from the root so it may control `/guard`."""
    return FileResponse(
        STATIC_DIR / "js" / "guard" / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """Browsers ask for it on their own (for a JSON or file view, say)."""
    return FileResponse(
        STATIC_DIR / "icon.svg", media_type="image/svg+xml", headers={"Cache-Control": "no-cache"}
    )


@router.get("/web/layout", tags=["pages"])
def layout(user: CurrentUser, runtime: RuntimeDep) -> Layout:
    """The layout of every site the user may see, for any signed-in user (a guard
    included), the server's time, so a page can correct a wall screen's drifting clock, and
    whether notifications go out (the duty board warns when they do not)."""
    now = runtime.clock.now()
    sites = runtime.sites
    visible = user.scope.visible(sites.ids)
    configs = [c for c in (sites.config(site_id) for site_id in visible) if c is not None]
    return Layout(
        now=now,
        sites=[site_layout(c, now=now, tz=sites.tz(c.site.id)) for c in configs],
        notifying=runtime.notifier is not None,
    )
