"""Change events: every write becomes a changes-feed entry and webhook outbox rows, in the same transaction.

Sequence numbers are taken from one counter row at commit time; the row lock is held until the
commit, so `seq` order is commit order on both engines and a cursor never skips a late commit.
Writers queue on that lock only for the instant before commit; reads never touch it.

Who may see an event is decided by one table (`RESOURCES`): the scope that reads the resource type.
The changes feed shows a reader only the types its permissions read, and a webhook subscription is
sent only the events its own scopes read — the same rule, in both places.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models.base import new_id, utcnow
from app.models.integration import ChangeEvent, WebhookDelivery, WebhookSubscription
from app.models.patient import Counter

SEQ_COUNTER = "change_seq"
_PENDING = "changes_pending"
# Every actor holds this; a resource type that needs it is readable by anyone signed in (the clinic profile).
EVERYONE = "authenticated"
# audit action -> change kind
CHANGES = {"create": "created", "update": "updated", "sign": "signed", "amend": "amended", "deactivate": "deactivated",
           "discard": "deleted", "withdraw": "updated", "discharge": "updated",
           # the appointment book (issue 14)
           "book": "booked", "reschedule": "rescheduled", "arrive": "arrived", "complete": "completed",
           "cancel": "cancelled", "no_show": "no_show"}
CHANGE_KINDS = frozenset(CHANGES.values())
# audit resource type -> feed/event name, and the scope a reader needs to see it
RESOURCES = {"Patient": ("patient", "patients:read"), "Episode": ("episode", "clinical:read"),
             "Assessment": ("assessment", "clinical:read"), "Treatment": ("treatment", "clinical:read"),
             "Consent": ("consent", "clinical:read"), "Screening": ("screening", "clinical:read"),
             "OutcomeAdministration": ("outcome", "clinical:read"),
             "User": ("user", "staff:manage"),  # admins only: never an API-client scope
             "Clinic": ("clinic", EVERYONE),
             "Appointment": ("appointment", "appointments:read")}
SCOPE_OF = {name: scope for name, scope in RESOURCES.values()}


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


def note(session: Session, action: str, resource_type: str | None, resource_id: Any, version: int | None,
         patient_id: uuid.UUID | None) -> None:
    change = CHANGES.get(action)
    if change is None or resource_type not in RESOURCES or resource_id is None:
        return
    session.info.setdefault(_PENDING, []).append(
        {"resource_type": RESOURCES[resource_type][0], "resource_id": str(resource_id), "version": version,
         "change": change, "patient_id": patient_id, "occurred_at": utcnow()})


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
