"""The clinic profile, and the clinic's idea of "today" (its time zone, not the server's).

Hot paths read the profile through `profile()`: a frozen copy cached per process and engine, revalidated with
a one-column version read at most every `REVALIDATE_SECONDS`, so an admin's change made in any process is seen
by every process within that time, and at once by the process that made it (dropped on its commit).
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.orm import Session

from app.clinic.schemas import ClinicUpdate
from app.kit import audit
from app.kit.actor import Actor
from app.kit.etag import check_version
from app.kit.events import EventType, announce
from app.kit.patch import changes_of
from app.models.base import utcnow
from app.models.clinic import CLINIC_ROW_ID, Clinic

REVALIDATE_SECONDS = 1.0
_CHANGED = "clinic_profile_changed"


@dataclass(frozen=True)
class ClinicProfile:
    """What the hot paths read of the clinic row; frozen, so one copy serves every thread."""

    version: int
    name: str
    time_zone: str
    screening_recheck_days: int
    screening_valid_days: int
    late_cancellation_hours: int
    calendar_feed_detail: str


@dataclass
class _Cached:
    profile: ClinicProfile
    checked: float  # time.monotonic() of the last version check


_cache: weakref.WeakKeyDictionary[Engine, _Cached] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def get(session: Session) -> Clinic:
    """The clinic row in this session (for changing it, or where the full row is shown)."""
    return session.get_one(Clinic, CLINIC_ROW_ID)


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    return getattr(engine, "_proxied", engine)  # app.db's read bind: an execution-options copy, same database


def profile(session: Session) -> ClinicProfile:
    """The clinic profile, from this process's cache when its version is still current (see the module doc)."""
    engine = _engine(session)
    cached = _cache.get(engine)
    now = time.monotonic()
    if cached is not None and now - cached.checked < REVALIDATE_SECONDS:
        return cached.profile
    if cached is not None:
        version = session.scalar(select(Clinic.version).where(Clinic.id == CLINIC_ROW_ID))
        if version == cached.profile.version:
            cached.checked = now
            return cached.profile
    row = get(session)
    fresh = ClinicProfile(row.version, row.name, row.time_zone, row.screening_recheck_days, row.screening_valid_days,
                          row.late_cancellation_hours, row.calendar_feed_detail)
    with _lock:
        _cache[engine] = _Cached(fresh, now)
    return fresh


@event.listens_for(Session, "after_commit")
def _forget_changed_profile(session: Session) -> None:
    """This process changed the profile: its next read reloads it (other processes within REVALIDATE_SECONDS)."""
    if session.info.pop(_CHANGED, False):
        with _lock:
            _cache.pop(_engine(session), None)


@event.listens_for(Session, "after_rollback")
def _keep_profile(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def _mark_changed(session: Session, *_: Any) -> None:
    session.info[_CHANGED] = True


def update(session: Session, actor: Actor, data: ClinicUpdate, expected_version: int) -> Clinic:
    clinic = get(session)
    check_version(clinic.version, expected_version)
    changes = changes_of(data, ("name", "time_zone", "screening_recheck_days", "screening_valid_days",
                                "late_cancellation_hours", "calendar_feed_detail"), mode="json")
    for name, value in changes.items():
        setattr(clinic, name, value)
    _mark_changed(session)
    session.flush()
    audit.record(session, actor, "update", resource_type="Clinic", resource_id=clinic.id,
                 resource_version=clinic.version, detail={"fields": sorted(changes)})
    announce(session, EventType.CLINIC_UPDATED, clinic)
    return clinic


def local_now(session: Session) -> datetime:
    return utcnow().astimezone(ZoneInfo(profile(session).time_zone))


def today(session: Session) -> date:
    """The clinic's calendar date: a 23:30 visit in Toronto is not tomorrow's."""
    return local_now(session).date()


def local_date(session: Session, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(profile(session).time_zone)).date()
