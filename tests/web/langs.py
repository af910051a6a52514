"""The language × screen matrix of the browser tests: each role's main task runs in zh-CN
on a desk screen and in English on a phone, and again the other way round, so every task
is seen in each language and at each size. Expected words come from the pages' own
string tables (api/web/static/js/...), not from copies in the tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.web.pages import PHONE, WALL

JS = Path(__file__).resolve().parents[2] / "api" / "web" / "static" / "js"
_ENTRY = re.compile(
    r"""^\s+'([^']+)':\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""", re.MULTILINE
)
# A word of English; an equipment tag as plates print it (AHU-1, P2) is no word.
_ENGLISH_WORD = re.compile(r"(?<![A-Za-z0-9-])(?![A-Z]{1,4}-?\d)[A-Za-z]{2,}")
_CJK = re.compile(r"[\u3400-\u9fff]")
# A setting's name (EW_NOTIFY) is the same in both languages: an operator types it as it is.
_SETTING = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
# Units, and what a person typed or the estate is called (test data, not the page's words).
_NOT_WORDS = {"MPa", "kW", "kWh", "Hz", "kg", "English", "EN", "ID", "SLA", "NFC", "PM"}


def _tables(text: str) -> dict[str, dict[str, str]]:
    """The _ZH and _EN objects of one strings file, by language."""
    found: dict[str, dict[str, str]] = {}
    for part in re.split(r"^export const ", text, flags=re.MULTILINE)[1:]:
        name = part.split(" ", 1)[0]
        lang = "zh" if "ZH" in name else "en" if "EN" in name else None
        if lang is None:
            continue
        body = part.split("\n};", 1)[0]
        entries = {k: (a if a else b).replace("\\'", "'") for k, a, b in _ENTRY.findall(body)}
        found.setdefault(lang, {}).update(entries)
    return found


@cache
def strings(page: str) -> dict[str, dict[str, str]]:
    """The texts one page shows: the shared tables with the page's own merged over them."""
    merged: dict[str, dict[str, str]] = {"zh": {}, "en": {}}
    files = [JS / "lib" / "strings-zh.js", JS / "lib" / "strings-en.js"]
    files += sorted((JS / "lib").glob("strings-*.js"))
    files += [JS / page / "strings.js"] if (JS / page / "strings.js").exists() else []
    for path in files:
        for lang, table in _tables(path.read_text()).items():
            merged[lang].update(table)
    return merged


@dataclass(frozen=True)
class Case:
    """One language on one screen size."""

    lang: str
    width: int

    @property
    def locale(self) -> str:
        return "zh-CN" if self.lang == "zh" else "en-GB"

    @property
    def screen(self) -> dict[str, Any]:
        return WALL if self.width == 1920 else PHONE

    @property
    def name(self) -> str:
        return f"{self.lang}-{self.width}"

    def context(self, browser: Any) -> Any:
        return browser.new_context(**self.screen, locale=self.locale, timezone_id="Asia/Shanghai")

    def t(self, page: str, key: str, **params: object) -> str:
        text = strings(page)[self.lang][key]
        for name, value in params.items():
            text = text.replace("{" + name + "}", str(value))
        return text


# zh-CN on a desk and English on a phone, then the other way round.
CASES = [Case("zh", 1920), Case("en", 390)]
CROSSED = [Case("zh", 390), Case("en", 1920)]
MATRIX = pytest.mark.parametrize("case", CASES + CROSSED, ids=lambda c: c.name)
# Where a task can run only so often on one stack (a weekly sample, one alarm): each
# language at one size, together both sizes.
CASE_PER_LANGUAGE = pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)


def wrong_language(case: Case, text: str, typed: tuple[str, ...] = ()) -> list[str]:
    """Lines of `text` in the other language than the case's: English words in the
    Chinese page, Chinese characters in the English one. `typed` are what the test itself
    entered (names, notes), which keep their language."""
    lines = [line for line in text.splitlines() if line.strip()]
    for entered in typed:
        lines = [line.replace(entered, "") for line in lines]
    if case.lang == "zh":
        words = (_ENGLISH_WORD.findall(_SETTING.sub("", ln)) for ln in lines)
        return [ln for ln, found in zip(lines, words, strict=True) if set(found) - _NOT_WORDS]
    return [ln for ln in lines if _CJK.search(ln)]


# The page's own words: headings, labels, buttons, table heads, the toolbar; not the list
# items (names, titles as entered; a test checks the words it expects in an item itself).
CHROME = "h1, h2, h3, label, button, summary, th, legend, nav a, [data-i18n]"


def chrome_texts(page: Any, case: Case, within: str = "body") -> str:
    """The page's own visible words under `within`, less the switch to the other language."""
    switch = {case.t("", "lang.other"), case.t("", "lang.otherLabel")}
    texts: list[str] = page.evaluate(
        """([within, chrome]) => [...document.querySelectorAll(within)].flatMap(
            (root) => [...root.querySelectorAll(chrome)]
                .filter((el) => !el.closest('li') && el.offsetParent !== null)
                .map((el) => el.innerText))""",
        [within, CHROME],
    )
    return "\n".join(t for t in texts if t.strip() not in switch)


def overflowing(page: Any, case: Case) -> list[str]:
    """Why the page scrolls sideways at the case's width: nothing when it does not, else
    the innermost elements that reach past the right edge (tag#id.class and width)."""
    if page.evaluate("document.documentElement.scrollWidth") <= case.width:
        return []
    found: list[str] = page.evaluate(
        """(width) => {
          // what a scrolling box (a tab strip) holds does not widen the page
          const scrolls = (el) => el && el !== document.body
            && (getComputedStyle(el).overflowX !== 'visible' || scrolls(el.parentElement));
          return [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > width + 1
                && ![...el.children].some((c) => c.getBoundingClientRect().right > width + 1)
                && !scrolls(el.parentElement))
            .slice(0, 8)
            .map((el) => `${el.parentElement.tagName.toLowerCase()}#${el.parentElement.id}`
                + `.${el.parentElement.className} > ${el.tagName.toLowerCase()}#${el.id}`
                + `.${el.className} ${Math.round(el.getBoundingClientRect().right)}px`
                + ` "${el.innerText.slice(0, 30)}"`);
        }""",
        case.width,
    )
    return found or ["(the page is wider, no element found)"]
