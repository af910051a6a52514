"""Every built-in rule speaks both languages: its title and message in zh-CN and en, with
the same placeholders, the Chinese free of English words; a raised alarm carries both, each
with the names of that language."""

from __future__ import annotations

import re
import string

import pytest

from estatewatch.config import SiteConfig
from estatewatch.config.names import Bilingual, has_cjk
from rules.loader import parse_rules
from rules.model import RuleBase
from rules.patrol import _MISSED, _TITLES
from tests.rules.driver import Driver

RULES: list[RuleBase] = [*parse_rules(None).device_rules, *parse_rules(None).group_rules]
UNITS = {"MPa", "kW", "V", "A", "L", "NTAG"}
"""Latin a Chinese text may hold: SI units and a chip's name, as Chinese texts write them."""


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _english_words(zh: str) -> list[str]:
    bare = re.sub(r"\{[a-z_]+\}|°C", "", zh)
    return [w for w in re.findall(r"[A-Za-z]+", bare) if w not in UNITS]


def _check(text: Bilingual, what: str) -> None:
    if not text.en:
        assert not text.zh, f"{what}: Chinese without English"
        return
    assert text.zh, f"{what}: no Chinese"
    assert text.zh != text.en, f"{what}: not in both languages"
    assert has_cjk(text.zh), f"{what}: no Chinese in {text.zh!r}"
    assert _english_words(text.zh) == [], f"{what}: English in {text.zh!r}"
    assert _fields(text.zh) == _fields(text.en), f"{what}: placeholders differ"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_every_builtin_rule_has_its_title_and_message_in_both_languages(rule: RuleBase) -> None:
    _check(rule.title, f"{rule.id} title")
    _check(rule.message, f"{rule.id} message")


def test_every_patrol_title_is_in_both_languages() -> None:
    for name, (en, zh) in [*_TITLES.items(), ("missed_checkpoint", _MISSED)]:
        _check(Bilingual(zh=zh, en=en), f"patrol.{name}")


def test_the_check_catches_english_left_in_a_chinese_text() -> None:
    with pytest.raises(AssertionError, match="English in"):
        _check(Bilingual(zh="{device_name}水泵 trip", en="Pump trip at {device_name}"), "t")
    with pytest.raises(AssertionError, match="placeholders differ"):
        _check(Bilingual(zh="{device}水泵跳闸", en="Pump trip at {device_name}"), "t")


def test_an_alarm_carries_both_languages_with_each_languages_names(
    example_site: SiteConfig,
) -> None:
    d = Driver(example_site)
    d.reading("elevator-3", fault_code=31, running=False, leveled=False, in_service=True)
    d.tick(2)
    [event] = [e for e in d.events if e.rule == "elevator.entrapment"]
    assert event.title == "Entrapment in Tower 2 car A: stopped between floors"
    assert event.title_zh == "2号楼A梯困人：非平层停梯"
    assert event.message_zh is not None
    assert "维保人员须在30分钟内到场" in event.message_zh
    assert event.details["value_text"] == "stopped between floors"


def test_a_group_alarm_names_its_building_and_members_in_each_language(
    example_site: SiteConfig,
) -> None:
    d = Driver(example_site)
    for car in ("elevator-1", "elevator-2"):
        d.reading(car, in_service=False, fault_code=0, running=False, leveled=True)
    d.tick(65)
    [event] = [e for e in d.events if e.rule == "elevator.no_service"]
    assert event.title == "No lift in service in Tower 1"
    assert event.title_zh == "一号楼没有可用电梯"
    assert event.message_zh == "该楼所有电梯均停止服务：1号楼A梯、1号楼B梯。"
    assert "Tower 1 car A, Tower 1 car B" in event.message


def test_a_site_rule_in_one_language_renders_the_names_of_each(example_site: SiteConfig) -> None:
    text = (
        "device_rules:\n  - id: site.tank_very_low\n    kinds: [water_pump_set]\n"
        "    category: tank_low\n    severity: critical\n"
        "    title: 'Tank very low at {device_name}'\n"
        "    when: {threshold: {point: tank_level, below: 10}}\n"
    )
    d = Driver(example_site, text)
    d.reading("pump-domestic-low", tank_level=5.0)
    [event] = [e for e in d.events if e.rule == "site.tank_very_low"]
    assert event.title == "Tank very low at Domestic water pump set, low zone"
    assert event.title_zh == "Tank very low at 生活供水低区"


def test_a_rule_title_too_long_in_one_language_is_refused() -> None:
    text = (
        "device_rules:\n  - id: site.x\n    kinds: [water_pump_set]\n    category: x\n"
        f"    severity: minor\n    title: {{zh: '{'长' * 201}', en: 'Short'}}\n"
        "    when: {threshold: {point: tank_level, below: 10}}\n"
    )
    with pytest.raises(Exception, match="1 to 200 characters"):
        parse_rules(text)
