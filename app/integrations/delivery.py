"""The webhook worker: signed POSTs from the outbox, retried with backoff, in order per resource.

Rows are claimed with a short lease in their own transaction and the HTTP call happens outside any
transaction, so a slow receiver never holds a database lock (on SQLite that would stop all writes).
The outbox is a queue of `app.jobs`: registered at import, drained once per pass of the worker loop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from app.integrations.urls import IPAddress, UnsafeUrl, check
from app.jobs.registry import Queue, WorkerContext, register_queue
from app.models.base import utcnow
from app.models.integration import WebhookDelivery, WebhookSubscription

LEASE = timedelta(seconds=60)
GIVE_UP_AFTER = timedelta(hours=72)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at 1 h: a receiver down for a day still gets everything."""
    return timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 3600))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def _due(session: Session, now: datetime, batch: int) -> list[tuple[WebhookDelivery, WebhookSubscription]]:
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(and_(earlier.subscription_id == WebhookDelivery.subscription_id,
                                  earlier.ordering_key == WebhookDelivery.ordering_key,
                                  earlier.status == "pending",
                                  # Commit order, not clock order: API processes on several hosts may
                                  # disagree on the time, never on the change sequence.
                                  earlier.event_seq < WebhookDelivery.event_seq))
    rows = session.execute(
        select(WebhookDelivery, WebhookSubscription)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
               WebhookSubscription.active.is_(True), ~blocked)
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id).limit(batch)).all()
    return [(d, s) for d, s in rows]


def deliver_due(factory: sessionmaker[Session], client: httpx.Client, *, now: datetime | None = None,
                batch: int = 50, allow_plain_http_loopback: bool = False) -> int:
    """One pass over the outbox; returns how many deliveries were attempted."""
    now = now or utcnow()
    with factory() as session, session.begin():
        due = _due(session, now, batch)
    attempted = 0
    for delivery, sub in due:
        with factory() as session, session.begin():  # claim: a lease other workers respect
            claimed = session.execute(
                update(WebhookDelivery).where(WebhookDelivery.id == delivery.id, WebhookDelivery.status == "pending",
                                              WebhookDelivery.next_attempt_at == delivery.next_attempt_at)
                .values(next_attempt_at=now + LEASE)).rowcount  # type: ignore[attr-defined]
        if not claimed:
            continue
        attempted += 1
        status, error = _send(client, sub, delivery, allow_plain_http_loopback)
        with factory() as session, session.begin():
            values: dict[str, Any] = {"attempts": WebhookDelivery.attempts + 1, "last_status_code": status,
                                      "last_error": error}
            if status is not None and 200 <= status < 300:
                values |= {"status": "delivered", "delivered_at": utcnow()}
            elif now - delivery.created_at >= GIVE_UP_AFTER:
                values |= {"status": "failed"}
            else:
                values |= {"next_attempt_at": now + backoff(delivery.attempts + 1)}
            session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values))
    return attempted


def _send(client: httpx.Client, sub: WebhookSubscription, delivery: WebhookDelivery,
          allow_plain_http_loopback: bool) -> tuple[int | None, str | None]:
    try:
        addresses = check(sub.url, allow_plain_http_loopback=allow_plain_http_loopback)  # again: DNS may change
    except UnsafeUrl as exc:
        return None, f"refused: {exc}"
    body = encode(delivery.payload)
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "User-Agent": "IMS-Chart-Webhooks/1",
               "IMS-Event-Id": delivery.event_id, "IMS-Timestamp": str(timestamp),
               "IMS-Signature": sign(sub.secret, timestamp, body)}
    url, extensions = _pinned(sub.url, addresses, headers)
    try:
        response = client.post(url, content=body, headers=headers, timeout=10, follow_redirects=False,
                               extensions=extensions)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    return response.status_code, None if response.is_success else f"HTTP {response.status_code}"


def _pinned(url: str, addresses: list[IPAddress], headers: dict[str, str]) -> tuple[httpx.URL, dict[str, Any]]:
    """Connect to the address that was checked, not to whatever the name resolves to a moment later.

    The Host header and (for https) the TLS server name and certificate check keep the original host name.
    Pinned https connections are not kept alive: the pool keys connections by address, and a connection
    verified for one host name must not carry another's request.
    """
    target = httpx.URL(url)
    if not addresses or str(addresses[0]) == target.host:
        return target, {}
    headers["Host"] = target.netloc.decode("ascii")
    extensions: dict[str, Any] = {}
    if target.scheme == "https":
        extensions["sni_hostname"] = target.raw_host.decode("ascii")
        headers["Connection"] = "close"
    return target.copy_with(host=str(addresses[0])), extensions


def start(context: WorkerContext) -> Callable[[], int]:
    """The webhook queue's pass for the worker loop: one HTTP client for the loop's lifetime."""
    client = context.resources.enter_context(httpx.Client())
    return partial(deliver_due, context.factory, client, allow_plain_http_loopback=not context.production)


register_queue(Queue("webhooks", start=start))
