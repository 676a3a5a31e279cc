"""Webhook subscriptions, their delivery log, manual redelivery, a test ping and secret rotation.

A subscription can never learn more than whoever manages it: its scopes must be ones the caller holds,
and a caller only sees and manages subscriptions whose scopes it holds (a key with just `webhooks` cannot
point an admin's clinical subscription at its own URL, read its delivery log or rotate its secret).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.guards import WebhookManager
from app.db import SessionDep
from app.integrations.urls import UnsafeUrl, check
from app.integrations.webhook_schemas import DeliveryOut, WebhookCreate, WebhookCreated, WebhookOut, WebhookUpdate
from app.jobs import heartbeats
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import Forbidden, NotFound, field_error, problem_responses
from app.kit.etag import IfMatch, check_version, set_etag
from app.kit.events import SCOPE_OF, readable
from app.kit.pagination import Page, PageParamsDep, paginate
from app.kit.patch import changes_of
from app.kit.repository import get_or_404
from app.models.base import new_id, utcnow
from app.models.integration import WebhookDelivery, WebhookSubscription

router = APIRouter(prefix="/api/v1/webhooks", tags=["integrations"])


def _check_url(request: Request, url: str) -> None:
    try:
        check(url, allow_plain_http_loopback=not request.app.state.settings.is_production)
    except UnsafeUrl as exc:
        raise field_error("url", str(exc)) from exc


def _check_scopes(actor: Actor, scopes: Iterable[str], event_types: list[str]) -> None:
    """No escalation: grant only scopes you hold; and name no event type the scopes would never let through."""
    scopes = set(scopes)
    beyond = sorted(s for s in scopes if not actor.can(s))
    if beyond:
        raise Forbidden(f"A subscription cannot hold scopes you do not hold: {beyond}")
    for i, pattern in enumerate(event_types):
        resource = pattern.split(".")[0]
        if resource != "*" and not readable(scopes, resource):
            raise field_error(f"event_types[{i}]", f"{resource} events need the {SCOPE_OF[resource]} scope "
                                                   "in this subscription's scopes")


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _manageable(actor: Actor, sub: WebhookSubscription) -> bool:
    return all(actor.can(s) for s in sub.scopes)


def _get(session: Session, actor: Actor, webhook_id: uuid.UUID) -> WebhookSubscription:
    sub = get_or_404(session, WebhookSubscription, webhook_id, "webhook subscription")
    if not _manageable(actor, sub):
        raise Forbidden("This subscription holds scopes your credential does not; an admin manages it")
    return sub


def _created(sub: WebhookSubscription, secret: str, response: Response) -> WebhookCreated:
    response.headers["Cache-Control"] = "no-store"
    set_etag(response, sub.version)
    return WebhookCreated(**WebhookOut.model_validate(sub).model_dump(), secret=secret)


@router.post("", status_code=201, response_model=WebhookCreated, operation_id="createWebhook",
             summary="Subscribe a URL to events such as patient.created or treatment.signed",
             responses=problem_responses(401, 403, 422))
def create_webhook(request: Request, session: SessionDep, actor: WebhookManager, body: WebhookCreate,
                   response: Response) -> WebhookCreated:
    _check_scopes(actor, body.scopes, body.event_types)
    _check_url(request, body.url)
    secret = body.secret or _new_secret()
    sub = WebhookSubscription(url=body.url, event_types=sorted(set(body.event_types)), secret=secret,
                              active=body.active, scopes=sorted(set(body.scopes)), created_by=actor.id)
    session.add(sub)
    session.flush()
    audit.record(session, actor, "create", resource_type="WebhookSubscription", resource_id=sub.id,
                 resource_version=sub.version, detail={"scopes": sub.scopes, "event_types": sub.event_types})
    response.headers["Location"] = f"/api/v1/webhooks/{sub.id}"
    return _created(sub, secret, response)


@router.get("", response_model=list[WebhookOut], operation_id="listWebhooks",
            summary="Subscriptions (those whose scopes you hold)", responses=problem_responses(401, 403))
def list_webhooks(session: SessionDep, actor: WebhookManager) -> list[WebhookOut]:
    subs = session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.created_at)).all()
    return [WebhookOut.model_validate(s) for s in subs if _manageable(actor, s)]


@router.get("/{webhook_id}", response_model=WebhookOut, operation_id="getWebhook", summary="One subscription",
            responses=problem_responses(401, 403, 404))
def get_webhook(session: SessionDep, actor: WebhookManager, webhook_id: uuid.UUID, response: Response) -> WebhookOut:
    sub = _get(session, actor, webhook_id)
    set_etag(response, sub.version)
    return WebhookOut.model_validate(sub)


@router.patch("/{webhook_id}", response_model=WebhookOut, operation_id="updateWebhook",
              summary="Change URL, events, scopes or pause it (If-Match required)",
              responses=problem_responses(401, 403, 404, 412, 422, 428))
def update_webhook(request: Request, session: SessionDep, actor: WebhookManager, webhook_id: uuid.UUID,
                   body: WebhookUpdate, expected: IfMatch, response: Response) -> WebhookOut:
    sub = _get(session, actor, webhook_id)
    check_version(sub.version, expected)
    changes = changes_of(body, ("url", "event_types", "scopes", "active"))
    _check_scopes(actor, changes.get("scopes", sub.scopes), changes.get("event_types", sub.event_types))
    if "url" in changes:
        _check_url(request, changes["url"])
    for name, value in changes.items():
        setattr(sub, name, sorted(set(value)) if isinstance(value, list) else value)
    session.flush()
    audit.record(session, actor, "update", resource_type="WebhookSubscription", resource_id=sub.id,
                 resource_version=sub.version, detail={"fields": sorted(changes)})
    set_etag(response, sub.version)
    return WebhookOut.model_validate(sub)


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookCreated, operation_id="rotateWebhookSecret",
             summary="Replace the signing secret; the new one is in this response only",
             description="Takes effect at once, for queued deliveries too: every delivery is signed when it is "
             "sent. A receiver still checking the old secret rejects them, and they are retried with backoff, so "
             "nothing is lost while you update it.", responses=problem_responses(401, 403, 404))
def rotate_secret(session: SessionDep, actor: WebhookManager, webhook_id: uuid.UUID,
                  response: Response) -> WebhookCreated:
    sub = _get(session, actor, webhook_id)
    secret = _new_secret()
    sub.secret = secret
    session.flush()
    audit.record(session, actor, "rotate_secret", resource_type="WebhookSubscription", resource_id=sub.id,
                 resource_version=sub.version)
    return _created(sub, secret, response)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryOut], operation_id="listWebhookDeliveries",
            summary="The delivery log, newest first", responses=problem_responses(401, 403, 404, 422))
def list_deliveries(session: SessionDep, actor: WebhookManager, webhook_id: uuid.UUID, page: PageParamsDep,
                    status: str | None = None) -> Page[DeliveryOut]:
    sub = _get(session, actor, webhook_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    rows, cursor = paginate(session, stmt, [WebhookDelivery.created_at, WebhookDelivery.id], page, descending=True)
    waiting = heartbeats.waiting_reason(session, "pending") if any(r.status == "pending" for r in rows) else None
    return Page[DeliveryOut](items=[_delivery_out(r, waiting) for r in rows], next_cursor=cursor)


def _delivery_out(delivery: WebhookDelivery, waiting: str | None) -> DeliveryOut:
    out = DeliveryOut.model_validate(delivery)
    return out.model_copy(update={"waiting_for_worker": waiting}) if delivery.status == "pending" else out


def _enqueue(session: Session, sub: WebhookSubscription, event_id: str, event_type: str, ordering_key: str,
             payload: dict[str, object], redelivery_of: uuid.UUID | None = None) -> WebhookDelivery:
    delivery = WebhookDelivery(id=new_id(), subscription_id=sub.id, event_id=event_id, event_type=event_type,
                               ordering_key=ordering_key, payload=payload, next_attempt_at=utcnow(),
                               redelivery_of=redelivery_of, status="pending", attempts=0)
    session.add(delivery)
    session.flush()
    return delivery


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver", status_code=202, response_model=DeliveryOut,
             operation_id="redeliverWebhook", summary="Send an event again (a new delivery with the same event id)",
             responses=problem_responses(401, 403, 404))
def redeliver(session: SessionDep, actor: WebhookManager, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryOut:
    sub = _get(session, actor, webhook_id)
    original = session.get(WebhookDelivery, delivery_id)
    if original is None or original.subscription_id != sub.id:
        raise NotFound(f"No delivery {delivery_id} for this subscription")
    copy = _enqueue(session, sub, original.event_id, original.event_type, f"redelivery/{new_id()}",
                    original.payload, redelivery_of=original.id)
    audit.record(session, actor, "redeliver", resource_type="WebhookDelivery", resource_id=original.id)
    return _delivery_out(copy, heartbeats.waiting_reason(session, "pending"))


@router.post("/{webhook_id}/ping", status_code=202, response_model=DeliveryOut, operation_id="pingWebhook",
             summary="Queue a signed test event (type ping)", responses=problem_responses(401, 403, 404))
def ping(session: SessionDep, actor: WebhookManager, webhook_id: uuid.UUID) -> DeliveryOut:
    sub = _get(session, actor, webhook_id)
    event_id = f"ping_{new_id().hex}"
    payload: dict[str, object] = {"id": event_id, "type": "ping", "occurred_at": utcnow().isoformat(),
                                  "resource": None}
    delivery = _enqueue(session, sub, event_id, "ping", f"ping/{event_id}", payload)
    audit.record(session, actor, "ping", resource_type="WebhookSubscription", resource_id=sub.id)
    return _delivery_out(delivery, heartbeats.waiting_reason(session, "pending"))
