"""Per-therapist iCalendar feeds (RFC 5545) that Google, Apple and Outlook calendars subscribe to.

The feed URL carries an unguessable token; only its SHA-256 is stored, a new one revokes the old,
and revoking ends it. Events have stable UIDs and a SEQUENCE bumped on every move or cancellation,
and cancelled visits stay in the feed as STATUS:CANCELLED so subscribed calendars remove them. The
clinic setting `calendar_feed_detail` decides how much of the patient shows: initials (default),
the full name, or nothing; never clinical content. Every fetch is audited.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appointments import schedules, types
from app.clinic import service as clinic
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import NotFound
from app.models.appointment import Appointment, CalendarFeed
from app.models.base import utcnow
from app.models.patient import Patient

PAST, FUTURE = timedelta(days=60), timedelta(days=366)
TOKEN_PREFIX = "icf_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, actor: Actor, therapist_id: uuid.UUID) -> tuple[CalendarFeed, str]:
    """A new feed token for the therapist (shown once); any earlier one stops working."""
    schedules.therapist_or_404(session, therapist_id)
    schedules.ensure_own(session, actor, therapist_id, "CalendarFeed")
    now = utcnow()
    _revoke_all(session, therapist_id, now)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed(therapist_id=therapist_id, token_hash=_hash(token), created_by=actor.id, created_at=now)
    session.add(feed)
    session.flush()
    audit.record(session, actor, "create", resource_type="CalendarFeed", resource_id=feed.id,
                 detail={"therapist_id": str(therapist_id)})
    return feed, token


def revoke(session: Session, actor: Actor, therapist_id: uuid.UUID) -> None:
    schedules.therapist_or_404(session, therapist_id)
    schedules.ensure_own(session, actor, therapist_id, "CalendarFeed")
    if not _revoke_all(session, therapist_id, utcnow()):
        raise NotFound("This therapist has no active calendar feed")
    audit.record(session, actor, "revoke", resource_type="CalendarFeed", detail={"therapist_id": str(therapist_id)})


def _revoke_all(session: Session, therapist_id: uuid.UUID, now: object) -> int:
    live = session.scalars(select(CalendarFeed).where(CalendarFeed.therapist_id == therapist_id,
                                                      CalendarFeed.revoked_at.is_(None))).all()
    for feed in live:
        feed.revoked_at = now  # type: ignore[assignment]
    session.flush()
    return len(live)


def _who(patient: Patient, detail: str) -> str | None:
    if detail == "none":
        return None
    if detail == "full_name":
        return f"{patient.preferred_name or patient.given_name} {patient.family_name}"
    return f"{patient.given_name[:1]}.{patient.family_name[:1]}.".upper()


def render(session: Session, token: str) -> bytes:
    """The feed for a live token (404 for anything else: an unknown and a revoked token look alike)."""
    feed = session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == _hash(token),
                                                     CalendarFeed.revoked_at.is_(None)))
    if feed is None:
        raise NotFound("No such calendar feed")
    now = utcnow()
    feed.last_used_at = now
    settings = clinic.profile(session)
    appts = session.scalars(select(Appointment).where(
        Appointment.therapist_id == feed.therapist_id, Appointment.start_at >= now - PAST,
        Appointment.start_at < now + FUTURE).order_by(Appointment.start_at, Appointment.id)).all()
    kinds = types.by_id(session, {a.type_id for a in appts})
    ids = {a.patient_id for a in appts}
    people = {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))} if ids else {}
    cal = Calendar()
    cal.add("prodid", "-//IMS Chart//Appointment book//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{settings.name} appointments")
    cal.add("x-wr-timezone", settings.time_zone)
    for a in appts:
        event = Event()
        event.add("uid", f"{a.id}@imschart")
        event.add("dtstamp", a.updated_at)
        event.add("last-modified", a.updated_at)
        event.add("sequence", a.sequence)
        event.add("dtstart", a.start_at)
        event.add("dtend", a.end_at)
        who = _who(people[a.patient_id], settings.calendar_feed_detail)
        name = kinds[a.type_id].name
        event.add("summary", f"{who} - {name}" if who else name)
        event.add("status", "CANCELLED" if a.status == "cancelled" else "CONFIRMED")
        if a.status == "no_show":
            event.add("description", "No-show")
        cal.add_component(event)
    audit.record(session, None, "read", resource_type="CalendarFeed", resource_id=feed.id,
                 actor_label="calendar feed", detail={"therapist_id": str(feed.therapist_id),
                                                      "appointment_ids": [str(a.id) for a in appts]})
    return cal.to_ical()
