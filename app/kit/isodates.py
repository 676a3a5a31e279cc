"""Dates and instants on the wire are ISO 8601 text, as the OpenAPI document says (`format: date`/`date-time`).

Pydantic also takes numbers (and numeric strings) as Unix timestamps, so `?birth_date=0` would silently mean
1970-01-01 and `?until=0.5` half a second after it. These types refuse anything but the documented text.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?")


def _date_text(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE.fullmatch(value.strip()):
        raise ValueError("must be a date written as YYYY-MM-DD, e.g. 2026-11-24")
    return value.strip()


def _instant_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _INSTANT.fullmatch(value.strip()):
        raise ValueError("must be an ISO 8601 date and time with a UTC offset, e.g. 2026-11-24T09:00:00Z")
    return value.strip()


IsoDate = Annotated[date, BeforeValidator(_date_text)]
# Naive times are still refused by AwareDatetime itself, with its own message.
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_instant_text)]
# For query parameters whose route explains a missing offset itself.
IsoDateTimeText = Annotated[datetime, BeforeValidator(_instant_text)]
