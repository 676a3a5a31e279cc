"""PATCH semantics (app/kit/patch.py): sent fields only, required ones never nulled."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import BaseModel

from app.kit.errors import Unprocessable
from app.kit.patch import changes_of


class _Update(BaseModel):
    name: str | None = None
    nickname: str | None = None
    born: date | None = None


def test_only_the_fields_sent_are_changes_and_optional_ones_may_be_cleared():
    assert changes_of(_Update(nickname=None), ("name",)) == {"nickname": None}
    assert changes_of(_Update(born=date(1980, 2, 3)), ("name",), mode="json") == {"born": "1980-02-03"}
    assert changes_of(_Update(), ("name",)) == {}


def test_a_required_field_sent_as_null_is_a_field_error_naming_it():
    with pytest.raises(Unprocessable) as caught:
        changes_of(_Update(name=None, nickname="x"), ("name", "born"), message="is required and may not be null")
    assert [(e.field, e.message) for e in caught.value.errors or []] == [("name", "is required and may not be null")]
