"""Names in both languages: a site file gives `name: {zh: ..., en: ...}` or a plain string,
and a mistake in one is named by its file, line and field path."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from estatewatch.config import SiteConfig, parse_site
from estatewatch.config.names import Bilingual, LocalizedName, has_cjk, name_in, split_legacy
from estatewatch.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "estate.yaml"


class _Named(BaseModel):
    name: LocalizedName


def test_a_name_in_two_languages_picks_each_and_stays_a_string() -> None:
    name = _Named.model_validate({"name": {"zh": "2号楼A梯", "en": "Tower 2 car A"}}).name
    assert (name.pick("zh-CN"), name.pick("zh"), name.pick("en")) == (
        "2号楼A梯",
        "2号楼A梯",
        "Tower 2 car A",
    )
    assert name == "Tower 2 car A 2号楼A梯"  # the joined form the pages split
    assert isinstance(name, str)
    assert _Named(name=name).model_dump(mode="json") == {"name": "Tower 2 car A 2号楼A梯"}
    again = _Named.model_validate_json(_Named(name=name).model_dump_json()).name
    assert (again.zh, again.en) == ("2号楼A梯", "Tower 2 car A")
    for copied in (pickle.loads(pickle.dumps(name)), copy.deepcopy(name)):  # noqa: S301
        assert (copied.zh, copied.en) == (name.zh, name.en)


@pytest.mark.parametrize(
    ("given", "zh", "en"),
    [
        ("Tower 1 car A", "Tower 1 car A", "Tower 1 car A"),  # one language: both
        ("生活泵房", "生活泵房", "生活泵房"),
        ("Domestic pump room 生活泵房", "生活泵房", "Domestic pump room"),
        ("LV power room 1 (Towers 1-2) 1号配电房", "1号配电房", "LV power room 1 (Towers 1-2)"),
        ("  Zhang Wei 张伟 ", "张伟", "Zhang Wei"),
    ],
)
def test_a_plain_name_is_split_as_the_pages_split_it(given: str, zh: str, en: str) -> None:
    name = _Named(name=given).name
    assert (name.zh, name.en) == (zh, en)
    assert split_legacy(given.strip()) == (en, zh)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"zh": "泵房"}, "both zh and en"),
        ({"zh": "泵房", "en": "Pump room", "fr": "Salle"}, "not fr"),
        ({"zh": "", "en": "Pump room"}, "zh is empty"),
        ("", "a name is empty"),
        ("x" * 201, "longer than 200"),
        (42, "a string or {zh"),
    ],
)
def test_a_bad_name_is_refused_with_why(given: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        _Named.model_validate({"name": given})
    assert info.value.errors()[0]["loc"] == ("name",)


def test_a_bad_name_in_the_site_file_names_its_line_and_path() -> None:
    text = EXAMPLE.read_text()
    old = "name: {zh: 2号楼A梯, en: Tower 2 car A}"
    assert old in text
    with pytest.raises(ConfigError) as info:
        parse_site(text.replace(old, "name: {zh: 2号楼A梯, english: Tower 2 car A}"), file="e.yaml")
    issues = [str(i) for i in info.value.issues]
    line = next(i for i, row in enumerate(text.splitlines(), 1) if old in row)
    assert any(
        i.startswith(f"e.yaml:{line}:") and " devices.5.name:" in i and "not english" in i
        for i in issues
    ), issues


def test_the_example_estate_names_everything_in_both_languages(example_site: SiteConfig) -> None:
    names = [
        example_site.site.name,
        *(b.name for b in example_site.buildings),
        *(r.name for b in example_site.buildings for r in b.rooms),
        *(d.name for d in example_site.devices),
        *(c.name for c in example_site.checkpoints),
        *(r.name for r in example_site.routes),
    ]
    for name in names:
        assert has_cjk(name.zh), name
        assert not has_cjk(name.en), name
        assert name.zh != name.en
    assert example_site.device("elevator-3").name.zh == "2号楼A梯"


def test_a_plain_text_is_both_languages_and_is_never_split() -> None:
    text = Bilingual.model_validate("FIRE ALARM (火警确认) at {device_name}")
    assert text.zh == text.en == "FIRE ALARM (火警确认) at {device_name}"
    assert not text.both
    two = Bilingual.model_validate({"zh": "火警", "en": "Fire"})
    assert (two.pick("zh-CN"), two.pick("en"), two.both) == ("火警", "Fire", True)
    with pytest.raises(ValidationError):
        Bilingual.model_validate({"zh": "火警", "en": "Fire", "de": "Feuer"})


def test_a_name_read_back_from_a_record_is_shown_in_each_language_and_never_fails() -> None:
    assert name_in(LocalizedName("2号楼A梯", "Tower 2 car A"), "zh-CN") == "2号楼A梯"
    assert name_in("Power outage plan 停电应急预案", "zh-CN") == "停电应急预案"
    assert name_in("Power outage plan 停电应急预案", "en") == "Power outage plan"
    assert name_in("x" * 300, "en") == "x" * 300  # too long for a site file, still shown
    assert name_in("", "zh-CN") == ""
