"""The OpenAPI document: the main request models carry examples, and every example is a
valid request (so the examples cannot rot)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from api.schemas.maintenance import PlanCreate
from api.schemas.patrol import ScanBatch
from api.schemas.user import DutyIn, RefreshIn, UserCreate
from api.schemas.workorder import (
    CommentIn,
    CompleteIn,
    DispatchIn,
    ReopenIn,
    VerifyIn,
    WorkOrderCreate,
)
from tests.api.helpers import Api

MODELS: list[type[BaseModel]] = [
    WorkOrderCreate,
    DispatchIn,
    CompleteIn,
    VerifyIn,
    ReopenIn,
    CommentIn,
    ScanBatch,
    PlanCreate,
    UserCreate,
    DutyIn,
    RefreshIn,
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_each_example_is_a_valid_request(model: type[BaseModel]) -> None:
    examples = model.model_json_schema()["examples"]
    assert examples
    for example in examples:
        model.model_validate(example)


def test_the_published_document_shows_them(api: Api) -> None:
    schemas = api.get("/openapi.json", user=None).json()["components"]["schemas"]
    shown = {name for name, schema in schemas.items() if schema.get("examples")}
    assert {"WorkOrderCreate", "DispatchIn", "ScanBatch", "PlanCreate"} <= shown
