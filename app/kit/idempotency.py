"""Idempotency-Key on any POST: a retry with the same key and body replays the first response.

The entry belongs to the *principal* (a user or an API client), not to the raw Authorization header:
a retry after a token refresh replays instead of running twice, and a revoked key, a logged-out token
or a deactivated account gets no replay at all — the request goes on to the app and its 401.

The key is claimed (a row with no response yet) before the request runs, in its own short transaction
(together with resolving the credential), so a concurrent duplicate sees "in flight" (409) or, once
the first has finished, its response — never a second run. The claim is a lease: an entry still in
flight after `LEASE` (its process crashed mid-request) may be claimed again by a retry of the same
request. Server errors, 401 and 429 release the key (nothing was done; retry later); every other
response is stored and replayed — except the body of a response marked `Cache-Control: no-store`
(a key or secret shown once), which is never written down: a retry of that request gets a 409 that
points at the created resource instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit.request_context import send_problem
from app.models.base import utcnow
from app.models.integration import IdempotencyKey

REPLAYED_HEADERS = ("content-type", "location", "etag", "cache-control")
LEASE = timedelta(seconds=60)
RELEASED_STATUSES = frozenset({401, 429})  # and every 5xx
# (session, Authorization header) -> "user:<id>" / "api_client:<id>", or None when the credential is not valid
PrincipalResolver = Callable[[Session, str], str | None]


@dataclass(frozen=True)
class _Claim:
    principal: str | None  # None: not a valid credential; the request passes through untouched
    existing: IdempotencyKey | None = None  # None: we own the key and run the request


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, factory: sessionmaker[Session], principal: PrincipalResolver) -> None:
        self.app = app
        self.factory = factory
        self.principal = principal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key, auth = headers.get("idempotency-key"), headers.get("authorization")
        if key is None or not auth:
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= 200:
            await _problem(send, 400, "Idempotency-Key must be 1-200 characters")
            return
        body = b""
        try:
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
        except HTTPException as exc:  # the body checks of the request-context middleware (size cap, NUL)
            too_large = exc.status_code == 413
            await _problem(send, exc.status_code, str(exc.detail),
                           slug="request-body-too-large" if too_large else "validation-error",
                           title="Request body too large" if too_large else "The request has invalid fields",
                           field=None if too_large else "body")
            return
        request_hash = hashlib.sha256(b"\n".join([scope["path"].encode(), scope.get("query_string", b""),
                                                  body])).hexdigest()
        claim = await run_in_threadpool(self._claim, auth, key, request_hash)
        sent = False

        async def replay_receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if claim.principal is None:  # not a live credential: no replay, no claim; the app answers 401
            await self.app(scope, replay_receive, send)
            return
        if claim.existing is not None:
            await _answer_existing(claim.existing, request_hash, send)
            return

        captured: dict[str, Any] = {"body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = {k.decode("latin-1").lower(): v.decode("latin-1")
                                       for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            await run_in_threadpool(self._store, claim.principal, key, captured)

    def _claim(self, auth: str, key: str, request_hash: str) -> _Claim:
        with self.factory() as session, session.begin():
            principal = self.principal(session, auth)
            if principal is None:
                return _Claim(None)
            now = utcnow()
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            # ON CONFLICT DO NOTHING: on PostgreSQL a concurrent claim of the same key waits for ours to commit.
            won = session.execute(
                insert(IdempotencyKey).values(principal=principal, key=key, request_hash=request_hash,
                                              created_at=now)
                .on_conflict_do_nothing(index_elements=[IdempotencyKey.principal, IdempotencyKey.key])
                .returning(IdempotencyKey.id)).first()
            if won is not None:
                return _Claim(principal)
            where = (IdempotencyKey.principal == principal, IdempotencyKey.key == key)
            existing = session.scalars(select(IdempotencyKey).where(*where)).one()
            if (existing.status_code is None and existing.request_hash == request_hash
                    and existing.created_at <= now - LEASE):
                # Abandoned in flight (its process died): take the lease over, unless another retry just did.
                taken = session.execute(
                    update(IdempotencyKey).where(*where, IdempotencyKey.status_code.is_(None),
                                                 IdempotencyKey.created_at == existing.created_at)
                    .values(created_at=now).execution_options(synchronize_session=False))
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    return _Claim(principal)
            return _Claim(principal, existing)

    def _store(self, principal: str, key: str, captured: dict[str, Any]) -> None:
        where = (IdempotencyKey.principal == principal, IdempotencyKey.key == key)
        with self.factory() as session, session.begin():
            status = captured.get("status")
            if status is None or status >= 500 or status in RELEASED_STATUSES:
                session.execute(delete(IdempotencyKey).where(*where))  # nothing happened: let the client retry
                return
            kept = {k: v for k, v in captured["headers"].items() if k in REPLAYED_HEADERS}
            secret = "no-store" in kept.get("cache-control", "")
            session.execute(update(IdempotencyKey).where(*where).values(
                status_code=status, response_headers=kept,
                response_body=None if secret else captured["body"].decode("utf-8", "replace")))


async def _answer_existing(found: IdempotencyKey, request_hash: str, send: Send) -> None:
    if found.request_hash != request_hash:
        await _problem(send, 422, "This Idempotency-Key was used with a different request body",
                       field="Idempotency-Key")
        return
    if found.status_code is None:
        await _problem(send, 409, "A request with this Idempotency-Key is still in flight; retry shortly")
        return
    stored = found.response_headers or {}
    if found.response_body is None:  # the first response held a one-time secret: it was not kept
        location = stored.get("location")
        await _problem(send, 409, "A request with this Idempotency-Key already succeeded; its response showed a "
                       "one-time secret, which is not stored" + (f". The resource is at {location}" if location
                                                                else ""),
                       extra_headers=[(b"location", location.encode())] if location else [])
        return
    headers = [(k.encode(), v.encode()) for k, v in stored.items()]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": found.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": found.response_body.encode()})


async def _problem(send: Send, status: int, detail: str, field: str | None = None, slug: str = "idempotency",
                   title: str = "Idempotency-Key problem",
                   extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send_problem(send, status, slug, title, detail, headers=extra_headers,
                       errors=[{"field": field, "message": detail}] if field else None)
