"""Idempotency-Key on any POST: a retry with the same key and body replays the first response.

The key is claimed (a row with no response yet) before the request runs, in its own short
transaction, so concurrent duplicates see "in flight" (409) rather than running twice. Server
errors release the key so the client may retry; every other response is stored and replayed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.models.integration import IdempotencyKey

REPLAYED_HEADERS = ("content-type", "location", "etag", "cache-control")


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, factory: sessionmaker[Session]) -> None:
        self.app = app
        self.factory = factory

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
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        principal = hashlib.sha256(auth.encode()).hexdigest()
        request_hash = hashlib.sha256(b"\n".join([scope["path"].encode(), scope.get("query_string", b""),
                                                  body])).hexdigest()
        found = await run_in_threadpool(self._claim, principal, key, request_hash)
        if found is not None:
            await self._answer_existing(found, request_hash, send)
            return

        sent = False

        async def replay_receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

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
            await run_in_threadpool(self._store, principal, key, captured)

    def _claim(self, principal: str, key: str, request_hash: str) -> IdempotencyKey | None:
        with self.factory() as session:
            try:
                with session.begin():
                    session.add(IdempotencyKey(principal=principal, key=key, request_hash=request_hash))
                return None
            except IntegrityError:
                session.rollback()
            with session.begin():
                return session.scalar(select(IdempotencyKey).where(IdempotencyKey.principal == principal,
                                                                   IdempotencyKey.key == key))

    def _store(self, principal: str, key: str, captured: dict[str, Any]) -> None:
        where = (IdempotencyKey.principal == principal, IdempotencyKey.key == key)
        with self.factory() as session, session.begin():
            status = captured.get("status")
            if status is None or status >= 500:
                session.execute(delete(IdempotencyKey).where(*where))  # nothing happened: let the client retry
                return
            kept = {k: v for k, v in captured["headers"].items() if k in REPLAYED_HEADERS}
            session.execute(update(IdempotencyKey).where(*where).values(
                status_code=status, response_headers=kept, response_body=captured["body"].decode("utf-8", "replace")))

    async def _answer_existing(self, found: IdempotencyKey, request_hash: str, send: Send) -> None:
        if found.request_hash != request_hash:
            await _problem(send, 422, "This Idempotency-Key was used with a different request body",
                           field="Idempotency-Key")
            return
        if found.status_code is None:
            await _problem(send, 409, "A request with this Idempotency-Key is still in flight; retry shortly")
            return
        headers = [(k.encode(), v.encode()) for k, v in (found.response_headers or {}).items()]
        headers.append((b"idempotent-replayed", b"true"))
        await send({"type": "http.response.start", "status": found.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": (found.response_body or "").encode()})


async def _problem(send: Send, status: int, detail: str, field: str | None = None) -> None:
    body: dict[str, Any] = {"type": "https://imschart.org/problems/idempotency", "title": "Idempotency-Key problem",
                            "status": status, "detail": detail}
    if field:
        body["errors"] = [{"field": field, "message": detail}]
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(raw)).encode())]})
    await send({"type": "http.response.body", "body": raw})
