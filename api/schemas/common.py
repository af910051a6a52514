"""Types shared by the request models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    WithJsonSchema,
    field_validator,
)

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError("must be a time between 2000 and 2100")
    return value


# A time a person or a handheld sends: aware, and within the range the payloads on the bus
# (epoch milliseconds, never negative) and the SLA arithmetic can carry.
Moment = Annotated[
    AwareDatetime,
    AfterValidator(_plausible),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "formatMinimum": "2000-01-01T00:00:00Z",
            "formatExclusiveMaximum": "2100-01-01T00:00:00Z",
            "description": "an ISO 8601 time with its offset, from 2000 to 2100",
        }
    ),
]


def _plausible_day(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError("must be a date between 2000 and 2100")
    return value


Day = Annotated[
    date,
    AfterValidator(_plausible_day),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "formatMinimum": "2000-01-01",
            "formatExclusiveMaximum": "2100-01-01",
            "description": "a date from 2000 to 2100",
        }
    ),
]


class Patch(BaseModel):
    """A PATCH body: a field left out keeps its value; `null` is allowed only for the fields
    in `nullable` (it clears them) and is a 422 naming the field anywhere else. The OpenAPI
    schema says the same: only the nullable fields admit null."""

    model_config = ConfigDict(extra="forbid")

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: Any) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null: leave the field out to keep its value")
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        for name, prop in target.get("properties", {}).items():
            options = prop.get("anyOf")
            if name in cls.nullable or not isinstance(options, list):
                continue
            kept = [o for o in options if o.get("type") != "null"]
            if len(kept) == 1:
                prop.pop("anyOf")
                prop.update(kept[0])
            else:
                prop["anyOf"] = kept
            if prop.get("default", 0) is None:
                prop.pop("default")
        return schema
