"""API-client keys (bearer `imk_...`) and their per-key rate limit, shared across processes via the database."""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.permissions import Permission
from app.auth.tokens import hash_token
from app.kit import last_use
from app.kit.actor import Actor
from app.kit.errors import NotAuthenticated, TooManyRequests
from app.models.base import utcnow
from app.models.integration import ApiClient, RateWindow

KEY_PREFIX = "imk_"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(self.reset_seconds)}


def resolve(session: Session, key: bytes, raw: str) -> tuple[Actor, ApiClient]:
    client = session.scalar(select(ApiClient).where(ApiClient.key_hash == hash_token(key, raw)))
    if client is None or client.revoked_at is not None:
        raise NotAuthenticated("The API key is not valid or has been revoked")
    now = utcnow()
    if client.last_used_at is None or (now - client.last_used_at).total_seconds() >= 30:
        last_use.note(session, ApiClient, client.id, now)  # at commit, not as a change of the row
    scopes = frozenset(client.scopes) | {Permission.AUTHENTICATED}
    if Permission.EXPORT in scopes:
        scopes |= {Permission.PATIENT_EXPORT}
    return Actor(id=client.id, type="api_client", role=None, label=client.name, permissions=scopes), client


def count_request(engine: Engine, client: ApiClient) -> RateState:
    """Fixed one-minute windows; committed on its own so a client's requests never queue on the counter."""
    now = time.time()
    window = math.floor(now / 60)
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    base = insert(RateWindow).values(client_id=client.id, window_start=window, count=1)
    stmt = base.on_conflict_do_update(index_elements=[RateWindow.client_id, RateWindow.window_start],
                                      set_={"count": RateWindow.count + 1}).returning(RateWindow.count)
    with Session(engine) as session, session.begin():
        used = session.execute(stmt).scalar_one()
    reset = max(1, int((window + 1) * 60 - now))
    state = RateState(client.rate_limit_per_minute, max(0, client.rate_limit_per_minute - used), reset)
    if used > client.rate_limit_per_minute:
        raise TooManyRequests(f"Rate limit of {client.rate_limit_per_minute} requests per minute exceeded",
                              headers={"Retry-After": str(reset), **state.headers()})
    return state


class RateLimitHeadersMiddleware:
    """Every response to an API key carries its RateLimit-* headers, errors (403, 404, 422 ...) included.

    `current_actor` leaves them in the request state; exception handlers build fresh responses without
    them, so they are added here, on the way out.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            extra = state.get("rate_limit_headers") if message["type"] == "http.response.start" else None
            if extra:
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
