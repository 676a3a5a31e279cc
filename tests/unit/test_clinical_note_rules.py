"""The pure pieces of the shared clinical-note service: the clock-skew rule and content validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from app.kit.clinical_note_service import validated_content
from app.kit.dates import CLOCK_SKEW, not_in_future
from app.kit.errors import Unprocessable

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class _Content(BaseModel):
    charted_at: datetime
    text: str | None = None


def test_an_instant_within_the_clock_skew_counts_as_now():
    assert timedelta(minutes=5) == CLOCK_SKEW
    not_in_future("started_at", NOW + CLOCK_SKEW, now=NOW)
    not_in_future("started_at", NOW - timedelta(days=400), now=NOW)


def test_an_instant_beyond_the_skew_is_a_field_error_naming_the_field():
    with pytest.raises(Unprocessable) as caught:
        not_in_future("changes.started_at", NOW + CLOCK_SKEW + timedelta(seconds=1), now=NOW)
    assert [(e.field, e.message) for e in caught.value.errors or []] == [
        ("changes.started_at", "cannot be in the future")]


def test_validated_content_returns_the_schema_and_prefixes_the_time_field():
    content = validated_content(_Content, {"charted_at": datetime.now(UTC), "text": "ok"}, "charted_at")
    assert isinstance(content, _Content) and content.text == "ok"
    with pytest.raises(Unprocessable) as caught:
        validated_content(_Content, {"charted_at": datetime.now(UTC) + timedelta(hours=1)}, "charted_at",
                          prefix="changes.")
    assert (caught.value.errors or [])[0].field == "changes.charted_at"
