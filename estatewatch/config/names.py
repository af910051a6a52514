"""Names and texts in both languages (zh-CN and en).

A site file gives a name either as a plain string or as ``{zh: 2号楼A梯, en: Tower 2 car A}``.
`LocalizedName` holds both and stays a `str` (the two joined, "Tower 2 car A 2号楼A梯": the
form site files used before names had two languages, which the pages already split), so code
that only shows or logs a name is unchanged; code that speaks one language calls `pick`.

A rule's title and message are `Bilingual`: a plain string is the same text in both
languages (a text is never split: it may quote Chinese inside English).
"""

from __future__ import annotations

import re
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, model_validator
from pydantic_core import core_schema

Lang = Literal["zh-CN", "en"]
"""The languages of the product: the pages, the API's documents, the notifications."""

LANGS: tuple[Lang, ...] = ("zh-CN", "en")

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
MAX_NAME = 200
"""Characters of one language's name."""


def in_language(text: str, text_zh: str | None, lang: str) -> str:
    """A text carried as the pair (`X`, `X_zh`) in `lang`: `X_zh` for zh-CN when there is
    one, else `X` (English, or the only language it was given in)."""
    return text_zh if text_zh and lang.lower().startswith("zh") else text


def name_in(name: str, lang: str) -> str:
    """A name kept as text (a `LocalizedName`, or the joined form read back from a record)
    in `lang`; never fails, unlike validating it again."""
    if isinstance(name, LocalizedName):
        return name.pick(lang)
    en, zh = split_legacy(name)
    return zh if lang.lower().startswith("zh") else en


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def split_legacy(text: str) -> tuple[str, str]:
    """(en, zh) of a plain name written "English 中文" (the pages' own rule: the Chinese part
    starts at the first word holding a CJK character); a name in one language is both."""
    words = text.split()
    first = next((i for i, word in enumerate(words) if has_cjk(word)), -1)
    if first <= 0:
        return text, text
    return " ".join(words[:first]), " ".join(words[first:])


class LocalizedName(str):
    """A name in zh-CN and en. Validates from a plain string or ``{zh: ..., en: ...}``; the
    `str` value is the two joined (one of them when they are the same)."""

    zh: str
    en: str

    def __new__(cls, zh: str, en: str) -> Self:
        joined = zh if zh == en else f"{en} {zh}"
        made = super().__new__(cls, joined)
        made.zh, made.en = zh, en
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.zh, self.en))

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self

    @classmethod
    def of(cls, value: object) -> LocalizedName:
        """A name from what a site file holds (a string, a mapping, or a name already)."""
        if isinstance(value, LocalizedName):
            return value
        if isinstance(value, str):
            text = value.strip()
            _check(text, "a name")
            en, zh = split_legacy(text)
            return cls(zh, en)
        if isinstance(value, dict):
            unknown = sorted(str(k) for k in value if k not in ("zh", "en"))
            if unknown:
                raise ValueError(f"a name has the keys zh and en, not {', '.join(unknown)}")
            given_zh, given_en = value.get("zh"), value.get("en")
            if not isinstance(given_zh, str) or not isinstance(given_en, str):
                raise ValueError("a name in two languages gives both zh and en as text")
            zh, en = given_zh.strip(), given_en.strip()
            _check(zh, "zh")
            _check(en, "en")
            return cls(zh, en)
        raise ValueError("a name is a string or {zh: ..., en: ...}")

    def pick(self, lang: str) -> str:
        """The name in `lang` (zh-CN, or any zh-*; anything else is English)."""
        return self.zh if lang.lower().startswith("zh") else self.en

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.of,
            json_schema_input_schema=core_schema.union_schema(
                [
                    core_schema.str_schema(max_length=MAX_NAME),
                    core_schema.typed_dict_schema(
                        {
                            "zh": core_schema.typed_dict_field(core_schema.str_schema()),
                            "en": core_schema.typed_dict_field(core_schema.str_schema()),
                        }
                    ),
                ]
            ),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


def _check(text: str, what: str) -> None:
    if not text:
        raise ValueError(f"{what} is empty")
    if len(text) > MAX_NAME:
        raise ValueError(f"{what} is longer than {MAX_NAME} characters")


class Bilingual(BaseModel):
    """A text in zh-CN and en: a rule's title or message. A plain string is both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str
    en: str

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, data: object) -> object:
        if isinstance(data, str):
            return {"zh": data, "en": data}
        return data

    def pick(self, lang: str) -> str:
        return self.zh if lang.lower().startswith("zh") else self.en

    @property
    def both(self) -> bool:
        """The two languages differ (given as two texts, not one plain string)."""
        return self.zh != self.en
