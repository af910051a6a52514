"""The web router without a browser: pages with their security headers, static files,
the site layout endpoint, and the files themselves (every reference resolves, every text
exists in both languages, no inline script or HTML injection)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI

from api.app import create_app
from api.domain.permissions import Role
from api.schemas.user import UserCreate
from api.security import issue_token
from api.settings import Settings
from api.sites import Sites
from api.web.routes import STATIC_DIR, _StaticFiles
from api.workflows import users
from estatewatch.clock import FakeClock
from estatewatch.config import SiteConfig
from estatewatch.config.devices import DeviceKind
from tests.dates import iso
from tests.web.stack import T0_WEB

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

JS = sorted(STATIC_DIR.rglob("*.js"))
HTML = sorted(STATIC_DIR.glob("*.html"))


@pytest.fixture
def client(tmp_path: Path, example_site: SiteConfig) -> Iterator[TestClient]:
    settings = Settings(
        environment="development", database_url=str(tmp_path / "web.db"), password_cost=12
    )
    clock = FakeClock(T0_WEB)
    app: FastAPI = create_app(settings, clock=clock, sites=Sites([example_site]))
    with TestClient(app) as test_client:
        runtime = app.state.runtime
        with runtime.db.write() as session:
            data = UserCreate(
                username="zhang", password="x" * 12, role=Role.GUARD, guard_id="guard-zhang"
            )
            users.create(session, data=data, cost=12, now=clock.now())
        token, _ = issue_token(
            username="zhang",
            role=Role.GUARD,
            secret=runtime.secret,
            now=clock.now(),
            ttl=timedelta(hours=1),
        )
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client


@pytest.mark.parametrize(
    ("path", "script"), [("/", "dashboard"), ("/guard", "guard"), ("/tech", "tech")]
)
def test_pages_are_served_with_a_strict_content_policy(
    client: TestClient, path: str, script: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["cache-control"] == "no-cache"
    assert f'<script type="module" src="/static/js/{script}/main.js"></script>' in response.text


def test_static_files_are_revalidated_and_confined(client: TestClient, tmp_path: Path) -> None:
    response = client.get("/static/js/lib/api.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    again = client.get("/static/js/lib/api.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/static/../routes.py").status_code == 404
    assert client.get("/static/%2e%2e/routes.py").status_code == 404
    (tmp_path / ".secret").write_text("no")
    (tmp_path / "shown.txt").write_text("yes")
    files = _StaticFiles(directory=tmp_path)
    assert files.lookup_path(".secret")[1] is None
    assert files.lookup_path("shown.txt")[1] is not None
    worker = client.get("/guard-sw.js")
    assert worker.status_code == 200
    assert "caches.open" in worker.text


def test_the_layout_is_for_signed_in_users_only(client: TestClient) -> None:
    response = client.get("/web/layout", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_the_layout_describes_the_site_without_secrets(client: TestClient) -> None:
    response = client.get("/web/layout")
    assert response.status_code == 200
    body = response.json()
    assert body["now"] == f"{iso(0)}T08:00:00Z"
    (site,) = body["sites"]
    assert site["id"] == "harbour-view"
    assert site["timezone"] == "Asia/Shanghai"
    assert (
        len(site["devices"]) == 27
    )  # with fire-panel-1, generator-1, four meters, ahu-1, chiller-1
    assert len(site["checkpoints"]) == 30
    devices = {d["id"]: d for d in site["devices"]}
    fault = next(p for p in devices["elevator-3"]["points"] if p["name"] == "fault_code")
    assert fault["enum"]["31"] == "stopped between floors"
    assert devices["pump-domestic-high"]["attributes"] == {"pumps": 3, "setpoint_mpa": 0.85}
    assert {p["name"] for p in devices["temp-fire-control"]["points"]} == {
        "temperature",
        "humidity",
    }
    assert site["shift"]["id"] == "day"
    assert site["guard_report_interval_s"] == 3600
    assert "tag_uid" not in response.text
    assert "key_ref" not in response.text
    assert "04A1B2" not in response.text


# --- the files ---------------------------------------------------------------------------


def _references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def test_every_file_a_page_or_module_names_exists() -> None:
    for page in HTML:
        for ref in _references(page.read_text()):
            assert (STATIC_DIR / ref.removeprefix("/static/")).is_file(), (page.name, ref)
    for module in JS:
        for spec in re.findall(r"from '(\.[^']+)'", module.read_text()):
            assert (module.parent / spec).resolve().is_file(), (module.name, spec)
    worker = (STATIC_DIR / "js" / "guard" / "sw.js").read_text()
    shell = re.findall(r"'(/static/[^']+)'", worker)
    assert len(shell) > 10
    for ref in shell:
        assert (STATIC_DIR / ref.removeprefix("/static/")).is_file(), ref
    guard_modules = {
        f"/static/{p.relative_to(STATIC_DIR)}"
        for p in JS
        if p.parent.name in ("guard", "lib")
        and p.name not in ("sw.js", "sse.js", "orders.js", "dialog.js")
    }
    assert guard_modules <= set(shell), guard_modules - set(shell)


def test_no_inline_script_style_or_html_injection() -> None:
    for page in HTML:
        text = page.read_text()
        assert not re.search(r"\son[a-z]+=", text), page.name
        assert not re.search(r"<script(?![^>]*\ssrc=)", text), page.name
        assert " style=" not in text, page.name
    for module in JS:
        text = module.read_text()
        for risky in (
            "innerHTML",
            "outerHTML =",
            "insertAdjacentHTML",
            "eval(",
            "new Function",
            "document.write",
        ):
            assert risky not in text, (module.name, risky)
        assert len(text.splitlines()) <= 400, module.name


def _table(name: str) -> str:
    """The text table of a strings module (the Chinese one also holds enum texts after it),
    with the per-page texts of that language (js/<page>/strings.js: `<PAGE>_ZH`, then
    `<PAGE>_EN`, merged into the table when that page loads), the API refusals' texts
    (js/lib/problem-strings.js), the building plant's (js/lib/strings-plant.js) and the
    later order actions' (js/lib/strings-orders.js)."""
    table = (STATIC_DIR / "js" / "lib" / name).read_text().split("export const ENUM_ZH")[0]
    lib = STATIC_DIR / "js" / "lib"
    extra = [lib / "problem-strings.js", lib / "strings-plant.js", lib / "strings-orders.js"]
    for page in [*sorted((STATIC_DIR / "js").glob("*/strings.js")), *extra]:
        zh, en = re.split(r"export const \w+_EN", page.read_text())
        table += zh if name == "strings-zh.js" else en
    return table


def _keys(name: str) -> set[str]:
    return set(re.findall(r"^  '([^']+)':", _table(name), re.MULTILINE))


def test_every_text_exists_in_chinese_and_english() -> None:
    zh, en = _keys("strings-zh.js"), _keys("strings-en.js")
    assert zh == en, (zh - en, en - zh)
    used: set[str] = set()
    for module in JS:
        used |= set(re.findall(r"\bt\('([a-zA-Z]+\.[\w.]+)'", module.read_text()))
    for page in HTML:
        text = page.read_text()
        used |= set(re.findall(r'data-i18n="([^"]+)"', text))
        used |= {
            k
            for pair in re.findall(r'data-i18n-attr="([^"]+)"', text)
            for k in re.findall(r":([\w.]+)", pair)
        }
    assert used, "no text keys found"
    assert used <= zh, used - zh


def test_chinese_texts_are_chinese() -> None:
    text = _table("strings-zh.js")
    values: list[Any] = re.findall(r"^  '([^']+)': '([^']*)'", text, re.MULTILINE)
    latin_only = {
        key
        for key, value in values
        if not re.search(r"[\u4e00-\u9fff]", value)
        and re.search(r"[A-Za-z]{3,}", re.sub(r"\{\w+\}", "", value))
    }
    assert latin_only == {"lang.other", "lang.otherLabel"}  # the button speaks English
    for word in ("告警", "确认", "工单", "派单", "巡逻", "电梯困人", "生活水泵"):
        assert word in text


def test_every_kind_and_alarm_category_has_a_label_in_both_languages() -> None:
    """The board's filters and alarm cards name each device kind and rule category; one
    without a label showed its raw id (energy_meter, fire_alarm) in both languages."""
    rules = yaml.safe_load((Path(__file__).parents[2] / "rules" / "builtin.yaml").read_text())
    categories: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("category"), str):
                categories.add(node["category"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(rules)
    keys = [f"category.{c}" for c in sorted(categories)]
    keys += [f"kind.{k.value}" for k in DeviceKind]
    for name in ("strings-zh.js", "strings-en.js"):
        table = _table(name)
        assert [k for k in keys if f"'{k}'" not in table] == [], name
