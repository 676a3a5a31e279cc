"""The clinic profile, and the clinic's idea of "today" (its time zone, not the server's)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.clinic.schemas import ClinicUpdate
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import field_error
from app.kit.etag import check_version
from app.kit.events import EventType, announce
from app.models.base import utcnow
from app.models.clinic import CLINIC_ROW_ID, Clinic


def get(session: Session) -> Clinic:
    return session.get_one(Clinic, CLINIC_ROW_ID)


def update(session: Session, actor: Actor, data: ClinicUpdate, expected_version: int) -> Clinic:
    clinic = get(session)
    check_version(clinic.version, expected_version)
    changes = data.model_dump(exclude_unset=True, mode="json")
    for name in ("name", "time_zone", "screening_recheck_days", "screening_valid_days", "late_cancellation_hours",
                 "calendar_feed_detail"):
        if name in changes and changes[name] is None:
            raise field_error(name, "may not be null")
    for name, value in changes.items():
        setattr(clinic, name, value)
    session.flush()
    audit.record(session, actor, "update", resource_type="Clinic", resource_id=clinic.id,
                 resource_version=clinic.version, detail={"fields": sorted(changes)})
    announce(session, EventType.CLINIC_UPDATED, clinic)
    return clinic


def local_now(session: Session) -> datetime:
    return utcnow().astimezone(ZoneInfo(get(session).time_zone))


def today(session: Session) -> date:
    """The clinic's calendar date: a 23:30 visit in Toronto is not tomorrow's."""
    return local_now(session).date()


def local_date(session: Session, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(get(session).time_zone)).date()
