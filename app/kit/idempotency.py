"""Idempotency-Key on any POST: a retry with the same key and body replays the first response.

The entry belongs to the *principal* (a user or an API client), not to the raw Authorization header:
a retry after a token refresh replays instead of running twice, and a revoked key, a logged-out token
or a deactivated account gets no replay at all — the request goes on to the app and its 401.

The key is claimed (a row with no response yet) before the request runs, in its own short transaction
(together with resolving the credential), so a concurrent duplicate sees "in flight" (409) or, once
the first has finished, its response — never a second run.

Crash safety: the stored response commits in the *same transaction* as the write it describes. The
request's session is handed over instead of committed (`app.db.CommitHandoff`); the response is
buffered, written into that session and committed with the request's changes, and only then sent.
So after a crash at any moment either both committed (a retry replays) or neither did (the key is
still "in flight": once its lease expires a retry runs the request, exactly once). The completion is
conditional on the claim still being ours, so a request that outlived its lease and was taken over by
a retry rolls back instead of committing a second time.

Server errors, 401 and 429 release the key (nothing was done; retry later); every other response is
stored and replayed — except the body of a response marked `Cache-Control: no-store` (a key or secret
shown once), which is never written down: a retry of that request gets a 409 that points at the
created resource instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import COMMIT_HANDOFF, CommitHandoff
from app.kit.asgi_body import read_body, replaying
from app.kit.errors import database_problem, problem_response
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
    claimed_at: datetime | None = None  # our claim's stamp: the completion only lands while it is still ours


def _page_credential(headers: dict[str, str]) -> str | None:
    """A charting page's script authenticates with its session cookie plus its CSRF header (README "Charting
    pages"); the principal resolver is handed both, as `Session <csrf> <cookie header>`."""
    csrf, cookie = headers.get("x-csrf-token"), headers.get("cookie")
    return f"Session {csrf} {cookie}" if csrf and cookie and " " not in csrf else None


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, factory: sessionmaker[Session], principal: PrincipalResolver,
                 lease: timedelta = LEASE) -> None:
        self.app = app
        self.factory = factory
        self.principal = principal
        self.lease = lease

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key, auth = headers.get("idempotency-key"), headers.get("authorization") or _page_credential(headers)
        if key is None or not auth:
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= 200:
            await _problem(send, 400, "Idempotency-Key must be 1-200 characters")
            return
        try:
            body = await read_body(receive)
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
        replay_receive = replaying(body, receive)

        if claim.principal is None:  # not a live credential: no replay, no claim; the app answers 401
            await self.app(scope, replay_receive, send)
            return
        if claim.existing is not None:
            await _answer_existing(claim.existing, request_hash, send)
            return

        captured: dict[str, Any] = {"body": b""}
        handoff = CommitHandoff()
        scope[COMMIT_HANDOFF] = handoff

        async def capture(message: Message) -> None:  # held back until the response is committed
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["raw_headers"] = list(message.get("headers", []))
                captured["headers"] = {k.decode("latin-1").lower(): v.decode("latin-1")
                                       for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")

        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:  # an unhandled error (a 500 outside): nothing was committed, release the key
            await run_in_threadpool(self._abandon, handoff.session, claim, key)
            raise
        failure = await run_in_threadpool(self._complete, handoff.session, claim, key, captured)
        if failure is not None:  # the commit failed: the client hears that, never the uncommitted success
            await failure(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": captured["status"], "headers": captured["raw_headers"]})
        await send({"type": "http.response.body", "body": captured["body"]})

    def _complete(self, session: Session | None, claim: _Claim, key: str, captured: dict[str, Any]
                  ) -> JSONResponse | None:
        """Commit the request's changes together with its stored response; an error response if that fails."""
        if session is None:  # the route made no transaction of its own (or it failed): store on the side
            try:
                with self.factory() as side, side.begin():
                    self._write_outcome(side, claim, key, captured)
            except SQLAlchemyError as exc:
                return database_problem(exc, "storing an Idempotency-Key response")
            return None
        try:
            if not self._write_outcome(session, claim, key, captured):
                session.rollback()  # a retry took our expired lease over: it runs the request, we must not
                return problem_response(409, "idempotency", "Idempotency-Key problem",
                                        "This request outlived its Idempotency-Key lease and a retry took it "
                                        "over; nothing was saved by this attempt")
            session.commit()
            return None
        except SQLAlchemyError as exc:
            _discard(session)
            # Conditional on "still in flight": if the commit did land before the connection died, the
            # stored response stays and a retry replays it.
            self._release(claim, key)
            return database_problem(exc, "committing a request with an Idempotency-Key")
        finally:
            session.close()

    def _abandon(self, session: Session | None, claim: _Claim, key: str) -> None:
        if session is not None:
            _discard(session)
            session.close()
        self._release(claim, key)

    def _release(self, claim: _Claim, key: str) -> None:
        """Best effort: if the database is gone the lease expires on its own."""
        try:
            with self.factory() as side, side.begin():
                side.execute(delete(IdempotencyKey).where(*self._ours(claim, key)))
        except SQLAlchemyError:
            pass

    @staticmethod
    def _ours(claim: _Claim, key: str) -> tuple[Any, ...]:
        return (IdempotencyKey.principal == claim.principal, IdempotencyKey.key == key,
                IdempotencyKey.status_code.is_(None), IdempotencyKey.created_at == claim.claimed_at)

    def _write_outcome(self, session: Session, claim: _Claim, key: str, captured: dict[str, Any]) -> bool:
        """Store the response, or release the key when nothing was done; False when the claim is no longer ours."""
        where = self._ours(claim, key)
        status = captured.get("status")
        if status is None or status >= 500 or status in RELEASED_STATUSES:
            session.execute(delete(IdempotencyKey).where(*where))  # nothing happened: let the client retry
            return True
        kept = {k: v for k, v in captured["headers"].items() if k in REPLAYED_HEADERS}
        secret = "no-store" in kept.get("cache-control", "")
        done = session.execute(update(IdempotencyKey).where(*where).values(
            status_code=status, response_headers=kept,
            response_body=None if secret else captured["body"].decode("utf-8", "replace"))
            .execution_options(synchronize_session=False))
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]

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
                return _Claim(principal, claimed_at=now)
            where = (IdempotencyKey.principal == principal, IdempotencyKey.key == key)
            existing = session.scalars(select(IdempotencyKey).where(*where)).one()
            if (existing.status_code is None and existing.request_hash == request_hash
                    and existing.created_at <= now - self.lease):
                # Abandoned in flight (its process died): take the lease over, unless another retry just did.
                taken = session.execute(
                    update(IdempotencyKey).where(*where, IdempotencyKey.status_code.is_(None),
                                                 IdempotencyKey.created_at == existing.created_at)
                    .values(created_at=now).execution_options(synchronize_session=False))
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    return _Claim(principal, claimed_at=now)
            return _Claim(principal, existing)


def _discard(session: Session) -> None:
    """Roll back what can be; a connection lost mid-transaction is simply dropped by the pool."""
    try:
        session.rollback()
    except SQLAlchemyError:
        session.invalidate()


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
