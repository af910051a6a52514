"""The API's refusals in the page's language: in Chinese no English server text reaches
the person (a wrong password, a validation error, an illegal move, a missing order, every
problem type of api/errors.py); in English the API's own detail is shown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from api.errors import PROBLEM_TYPE, PROBLEMS
from tests.web.pages import PHONE, WALL, sign_in
from tests.web.stack import PASSWORD, LiveStack

# Every refusal the page meets, asked of the real API from inside the page.
REFUSALS = """async () => {
  const { api } = await import('/static/js/lib/api.js');
  const texts = {};
  const calls = {
    notFound: ['/workorders/no-such-order', {}],
    invalid: ['/workorders', { method: 'POST', body: { site: 'harbour-view' } }],
    category: ['/workorders', { method: 'POST', body: { site: 'harbour-view', title: 'x',
      location: 'x', requester_name: 'x', requester_contact: 'x', category: 'volcano' } }],
    forbidden: ['/users', {}],
  };
  for (const [name, [path, options]] of Object.entries(calls)) {
    try { await api(path, options); texts[name] = 'no refusal'; }
    catch (err) { texts[name] = err.message; }
  }
  return texts;
}"""

# Every problem type the API has, as the page would render it.
EVERY_TYPE = """async (slugs) => {
  const { problemText } = await import('/static/js/lib/problems.js');
  const detail = 'English detail';
  const out = slugs.map(([status, type]) => problemText(status, { type, detail }));
  out.push(problemText(409, { type: 'urn:estatewatch:problem:illegal-transition',
    detail: 'cannot verify a new order', state: 'new', action: 'verify',
    allowed: ['dispatch', 'cancel'] }));
  out.push(problemText(502, { title: 'Bad Gateway' }));
  return out;
}"""


@pytest.fixture
def context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    opened = browser.new_context(**request.param)
    yield opened
    opened.close()


def _english(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{3,}", text)


@pytest.mark.parametrize(
    "context", [{**WALL, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}], indirect=True
)
def test_refusals_in_chinese_carry_no_english(context: Any, live: LiveStack) -> None:
    page = context.new_page()
    page.goto(f"{live.url}/service")
    page.fill("#login-user", "sun")
    page.fill("#login-pass", "not the password")
    page.click("#login-submit")
    page.wait_for_selector("#login-error:not([hidden])")
    assert page.inner_text("#login-error") == "用户名或密码错误"
    sign_in(page, "sun")
    texts = page.evaluate(REFUSALS)
    assert texts["notFound"] == "未找到，可能已被删除或无权查看"
    assert texts["invalid"].startswith("请检查："), texts
    assert "报修内容" in texts["invalid"]
    assert "业主姓名" in texts["invalid"]
    assert texts["category"].startswith("未知类别"), texts  # the API's own detail_zh
    assert texts["forbidden"] == "您的账号无权执行此操作"
    slugs = [[p.status, f"{PROBLEM_TYPE}{p.slug}"] for p in PROBLEMS.values()]
    rendered = page.evaluate(EVERY_TYPE, slugs)
    assert "当前状态“待派单”不能执行“回访”；可执行：派单、取消工单" in rendered
    # The API's detail_zh of an unknown category names the identifiers it knows: left out.
    for text in [*(v for k, v in texts.items() if k != "category"), *rendered]:
        assert _english(text) == [], text
        assert re.search(r"[\u4e00-\u9fff]", text), text


@pytest.mark.parametrize(
    "context", [{**PHONE, "locale": "en-GB", "timezone_id": "Asia/Shanghai"}], indirect=True
)
def test_refusals_in_english_say_what_the_api_said(context: Any, live: LiveStack) -> None:
    page = context.new_page()
    page.goto(f"{live.url}/service")
    page.fill("#login-user", "sun")
    page.fill("#login-pass", PASSWORD + "x")
    page.click("#login-submit")
    page.wait_for_selector("#login-error:not([hidden])")
    assert page.inner_text("#login-error") == "wrong username or password"
    sign_in(page, "sun")
    texts = page.evaluate(REFUSALS)
    assert "unknown category 'volcano'" in texts["category"]
    assert not re.search(r"[\u4e00-\u9fff]", "".join(texts.values())), texts
