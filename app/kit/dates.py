"""Instants from callers, checked at the edges of the calendar.

`9999-12-31T23:59:59-23:59` is a valid ISO 8601 string but lies after year 9999 in UTC, where Python's
datetime (and the database column) ends: converting it, storing it or adding to it raises OverflowError,
a 500. Every instant a caller sends is therefore converted to UTC on the way in and refused there, as a
field error, when it cannot be.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator

from app.kit.errors import field_error
from app.kit.isodates import IsoDateTime
from app.models.base import utcnow

OUT_OF_RANGE = "is outside the range of dates this server can hold (years 1-9999 in UTC)"
# How far past the server's clock a recorded instant may lie and still be "now": the clock of the tablet in
# the treatment room may run a little fast. One value for every clinical record, consent and visit.
CLOCK_SKEW = timedelta(minutes=5)


def not_in_future(name: str, value: datetime, now: datetime | None = None) -> None:
    """A field error naming `name` when `value` lies beyond now (allowing CLOCK_SKEW)."""
    if value > (now or utcnow()) + CLOCK_SKEW:
        raise field_error(name, "cannot be in the future")


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC; ValueError (a 422 naming the field in a schema) when it has none."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(OUT_OF_RANGE) from None


def utc_param(name: str, value: datetime) -> datetime:
    """A query-parameter instant in UTC: a field error naming `name` without an offset or out of range."""
    if value.tzinfo is None:
        raise field_error(name, "must include a UTC offset, e.g. 2026-11-24T09:00:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise field_error(name, OUT_OF_RANGE) from None


# An instant in a request body: must carry an offset, arrives as UTC, out-of-range is a field error.
# ISO 8601 text only (app.kit.isodates: never a Unix timestamp), then converted to UTC.
UtcInstant = Annotated[IsoDateTime, AfterValidator(to_utc)]
