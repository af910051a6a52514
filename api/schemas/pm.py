"""Preventive maintenance on a work order: the checklist and the technician's signature."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from estatewatch.contracts.payloads import LongText, ShortText

MAX_SIGNATURE_CHARS = 400_000
"""A drawn signature as a PNG data URL: a few tens of KB on a phone; this bounds abuse."""

SignatureImage = Annotated[
    str,
    StringConstraints(pattern=r"^data:image/png;base64,[A-Za-z0-9+/=]+$"),
    Field(max_length=MAX_SIGNATURE_CHARS),
]


class ChecklistItem(BaseModel):
    """One item of a PM order's checklist: `ok` is None until answered on completion."""

    model_config = ConfigDict(extra="forbid")

    item: ShortText
    ok: bool | None = None
    note: LongText = ""


class ChecklistAnswer(BaseModel):
    """The technician's answer to one checklist item on completion."""

    model_config = ConfigDict(extra="forbid")

    item: ShortText
    ok: bool
    note: LongText = Field(default="", description="what was wrong (a failed item opens an order)")


class SignatureIn(BaseModel):
    """The technician's signature on completing a PM order: a drawn signature (PNG data URL)
    or a typed confirmation."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    image: SignatureImage | None = None
    confirmed: bool = Field(
        default=False, description="typed confirmation: 'I did this work' (without a drawing)"
    )

    @model_validator(mode="after")
    def _drawn_or_confirmed(self) -> Self:
        if self.image is None and not self.confirmed:
            raise PydanticCustomError(
                "unsigned", "draw the signature (image) or confirm it (confirmed: true)"
            )
        return self


class PmSignature(BaseModel):
    """A signature as stored: who signed, in what name, when, and how."""

    name: str
    by: str
    at: datetime
    image: str | None = None
    typed: bool
