"""Change events: services announce what they changed; the outbox turns it into feed entries and webhooks.

A service that creates or changes a record says so with one call, `announce(session, EventType.X, record)`,
after its flush and in the same transaction (Polar's services call `webhook_service.send(...)` the same
way). Nothing is inferred from the audit trail: audit records *access*, whether or not anything changed,
and a write that announces is sent whether or not it was audited. The catalogue below (`EventType`) is
what integrators are promised; tests/integrations/test_event_catalogue.py fails if any of it is never
announced.

Sequence numbers are taken from one counter row at commit time; the row lock is held until the
commit, so `seq` order is commit order on both engines and a cursor never skips a late commit.
Writers queue on that lock only for the instant before commit; reads never touch it.
(`app.kit.audit`'s `before_commit` calls `write_pending`, so the lock order is fixed: business rows,
change counter, audit chain head.)

Who may see an event is decided by one table (`SCOPE_OF`): the scope that reads the resource type.
The changes feed shows a reader only the types its permissions read, and a webhook subscription is
sent only the events its own scopes read — the same rule, in both places.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models.base import new_id, utcnow
from app.models.integration import ChangeEvent, WebhookDelivery, WebhookSubscription
from app.models.patient import Counter

SEQ_COUNTER = "change_seq"
_PENDING = "changes_pending"
# Every actor holds this; a resource type that needs it is readable by anyone signed in (the clinic profile).
EVERYONE = "authenticated"


class EventType(StrEnum):
    """Every event a webhook can be sent and the changes feed can list: `<resource>.<change>`."""

    PATIENT_CREATED = "patient.created"
    PATIENT_UPDATED = "patient.updated"
    PATIENT_DEACTIVATED = "patient.deactivated"
    EPISODE_CREATED = "episode.created"
    EPISODE_UPDATED = "episode.updated"  # edits and the discharge
    ASSESSMENT_CREATED = "assessment.created"
    ASSESSMENT_UPDATED = "assessment.updated"
    ASSESSMENT_SIGNED = "assessment.signed"
    ASSESSMENT_AMENDED = "assessment.amended"
    ASSESSMENT_DELETED = "assessment.deleted"  # a discarded draft
    TREATMENT_CREATED = "treatment.created"
    TREATMENT_UPDATED = "treatment.updated"
    TREATMENT_SIGNED = "treatment.signed"
    TREATMENT_AMENDED = "treatment.amended"
    TREATMENT_DELETED = "treatment.deleted"  # a discarded draft
    CONSENT_CREATED = "consent.created"
    CONSENT_UPDATED = "consent.updated"  # a withdrawal
    SCREENING_CREATED = "screening.created"
    OUTCOME_CREATED = "outcome.created"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DEACTIVATED = "user.deactivated"
    CLINIC_UPDATED = "clinic.updated"
    APPOINTMENT_BOOKED = "appointment.booked"
    APPOINTMENT_UPDATED = "appointment.updated"  # front-desk notes
    APPOINTMENT_RESCHEDULED = "appointment.rescheduled"
    APPOINTMENT_ARRIVED = "appointment.arrived"
    APPOINTMENT_COMPLETED = "appointment.completed"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_NO_SHOW = "appointment.no_show"

    @property
    def resource(self) -> str:
        return self.value.partition(".")[0]

    @property
    def change(self) -> str:
        return self.value.partition(".")[2]


# feed/event resource name -> the scope a reader needs to see it
SCOPE_OF = {"patient": "patients:read", "episode": "clinical:read", "assessment": "clinical:read",
            "treatment": "clinical:read", "consent": "clinical:read", "screening": "clinical:read",
            "outcome": "clinical:read",
            "user": "staff:manage",  # admins only: never an API-client scope
            "clinic": EVERYONE,
            "appointment": "appointments:read"}
CHANGE_KINDS = frozenset(t.change for t in EventType)


class Subject(Protocol):
    """The record an event is about: its id (the patient's own, or `patient_id`, scopes the payload)."""

    @property
    def id(self) -> Any: ...


def readable(scopes: frozenset[str] | set[str] | list[str], resource_type: str) -> bool:
    """May a holder of `scopes` learn about changes to `resource_type` (a feed/event name)?"""
    scope = SCOPE_OF.get(resource_type)
    return scope is not None and (scope == EVERYONE or scope in scopes)


def known_event_type(pattern: str) -> bool:
    """`*`, `<resource>.*` or `<resource>.<change>` naming a real resource type and change."""
    if pattern == "*":
        return True
    resource, _, change = pattern.partition(".")
    return resource in SCOPE_OF and (change == "*" or change in CHANGE_KINDS)


def announce(session: Session, event_type: EventType, subject: Subject, *, version: int | None = None) -> None:
    """Put `event_type` about `subject` on this transaction's outbox: a changes-feed entry and webhook
    deliveries, written at commit with the next sequence number, or not at all if the transaction rolls back.

    Call it after the flush that gave `subject` its id and version; `version` is for records that have no
    version column (screens and outcome administrations are never edited: always 1).
    """
    kind = EventType(event_type)  # a name outside the catalogue is a programming error, not a silent no-op
    if subject.id is None:
        raise ValueError(f"announce {kind}: flush the record first, it has no id yet")
    version = version if version is not None else getattr(subject, "version", None)
    if version is None:
        raise ValueError(f"announce {kind}: {type(subject).__name__} has no version column; pass version=")
    patient_id: uuid.UUID | None = subject.id if kind.resource == "patient" else getattr(subject, "patient_id", None)
    session.info.setdefault(_PENDING, []).append(
        {"resource_type": kind.resource, "resource_id": str(subject.id), "version": version,
         "change": kind.change, "patient_id": patient_id, "occurred_at": utcnow()})


def drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def write_pending(session: Session) -> None:
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    if not pending:
        return
    last = session.execute(update(Counter).where(Counter.name == SEQ_COUNTER)
                           .values(value=Counter.value + len(pending)).returning(Counter.value)).scalar_one()
    subscriptions = session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True))).all()
    for offset, item in enumerate(pending):
        event = ChangeEvent(seq=last - len(pending) + 1 + offset, **item)
        session.add(event)
        event_type = f"{event.resource_type}.{event.change}"
        for sub in subscriptions:
            if readable(sub.scopes, event.resource_type) and subscribed(sub.event_types, event_type):
                session.add(WebhookDelivery(
                    id=new_id(), subscription_id=sub.id, event_id=f"evt_{event.seq}", event_type=event_type,
                    ordering_key=f"{event.resource_type}/{event.resource_id}", event_seq=event.seq,
                    payload=payload(event, event_type, sub.scopes), next_attempt_at=event.occurred_at))
    session.flush()


def subscribed(patterns: list[str], event_type: str) -> bool:
    resource = event_type.split(".")[0]
    return any(p in ("*", event_type, f"{resource}.*") for p in patterns)


def payload(event: ChangeEvent, event_type: str, scopes: list[str]) -> dict[str, Any]:
    """A reference to the resource, and no more PHI than the subscription's scopes allow."""
    body: dict[str, Any] = {"id": f"evt_{event.seq}", "type": event_type, "occurred_at": event.occurred_at.isoformat(),
                            "resource": {"type": event.resource_type, "id": event.resource_id,
                                         "version": event.version}}
    if readable(scopes, event.resource_type) and event.patient_id is not None:
        body["resource"]["patient_id"] = str(event.patient_id)
    return body
