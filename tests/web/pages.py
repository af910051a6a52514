"""Helpers of the browser tests: console watching, signing in, accessibility checks, and
calling the API directly to check what a page did."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.web.stack import PASSWORD, LiveStack

A11Y_SCRIPT = (Path(__file__).parent / "a11y.js").read_text()
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
WALL = {"viewport": {"width": 1920, "height": 1080}}


@dataclass
class Console:
    """Errors a page logged (console.error, failed loads) or threw."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> Any:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        return page


def sign_in(page: Any, username: str) -> None:
    page.fill("#login-user", username)
    page.fill("#login-pass", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#app:not([hidden])")


def a11y_problems(page: Any) -> list[str]:
    problems: list[str] = page.evaluate(A11Y_SCRIPT)
    return problems


def token(live: LiveStack, username: str) -> str:
    response = httpx.post(
        f"{live.url}/auth/token", data={"username": username, "password": PASSWORD}
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def api_get(live: LiveStack, path: str, username: str = "wang", **params: Any) -> Any:
    response = httpx.get(
        f"{live.url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {token(live, username)}"},
    )
    response.raise_for_status()
    return response.json()


def api_bytes(live: LiveStack, path: str, username: str = "wang") -> bytes | None:
    """The body of a GET, or None when it is not there (yet)."""
    response = httpx.get(
        f"{live.url}{path}", headers={"Authorization": f"Bearer {token(live, username)}"}
    )
    return response.content if response.status_code == 200 else None


def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.2) -> Any:
    """The first truthy answer of `check` within `timeout` seconds (a bounded wait for
    something another process does; not an assertion on speed)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {check}")
        time.sleep(interval)
