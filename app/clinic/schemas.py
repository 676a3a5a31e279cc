from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from app.kit.contact import Address, Phone


def _known_zone(value: str) -> str:
    if value not in available_timezones():
        raise ValueError("must be an IANA time zone such as America/Toronto")
    return value


TimeZone = Annotated[str, AfterValidator(_known_zone)]


class ClinicUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=1, max_length=200)
    address: Address | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    time_zone: TimeZone | None = None
    screening_recheck_days: int | None = Field(
        None, ge=0, le=365, description="Precaution screens older than this many days warn (0 = same day)")
    screening_valid_days: int | None = Field(
        None, ge=0, le=365, description="A screen older than this many days is not current: no needling (default 30)")
    late_cancellation_hours: int | None = Field(
        None, ge=0, le=168, description="A patient's cancellation less than this many hours ahead is flagged late")
    calendar_feed_detail: Literal["initials", "full_name", "none"] | None = Field(
        None, description="How much of the patient therapists' calendar feeds show (default initials)")


class ClinicOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    address: Address | None
    phone: str | None
    email: str | None
    time_zone: str
    screening_recheck_days: int
    screening_valid_days: int
    late_cancellation_hours: int
    calendar_feed_detail: str
    version: int
    updated_at: datetime
