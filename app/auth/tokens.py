"""Opaque bearer tokens: random, stored as a keyed hash, revocable, expiring after inactivity."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.kit import last_use
from app.kit.errors import NotAuthenticated
from app.models.base import new_id, utcnow
from app.models.user import AuthToken, User

TOKEN_PREFIX = "imt_"
# last_used_at is refreshed at most this often (so a token may expire up to this much before its idle limit):
# the stamp rides the request's commit (app.kit.last_use), one UPDATE per token per interval at most.
_TOUCH_EVERY = timedelta(seconds=30)


def token_key_from_secret(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"imschart-bearer-token-v1", hashlib.sha256).digest()


def hash_token(key: bytes, raw: str) -> str:
    return hmac.new(key, raw.encode(), hashlib.sha256).hexdigest()


def issue(session: Session, key: bytes, settings: Settings, user: User, *, client_ip: str | None,
          user_agent: str | None) -> tuple[str, AuthToken]:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = AuthToken(id=new_id(), token_hash=hash_token(key, raw), user_id=user.id, created_at=now,
                      last_used_at=now, expires_at=now + timedelta(hours=settings.token_max_hours),
                      client_ip=client_ip, user_agent=user_agent)
    session.add(token)
    session.flush()
    return raw, token


def resolve(session: Session, key: bytes, settings: Settings, raw: str) -> tuple[User, AuthToken]:
    """The live token and its active user, or 401. Stamps last_used_at at commit (inactivity expiry), never as a
    change of the loaded row: a read that used its token stays a pure read (app.kit.last_use)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        raise NotAuthenticated("The bearer token is not valid")
    row = session.execute(
        select(AuthToken, User).join(User, User.id == AuthToken.user_id)
        .where(AuthToken.token_hash == hash_token(key, raw))
    ).first()
    if row is None:
        raise NotAuthenticated("The bearer token is not valid")
    token, user = row
    now = utcnow()
    if token.revoked_at is not None:
        raise NotAuthenticated("The bearer token has been revoked; sign in again")
    if not user.active:
        raise NotAuthenticated("The account is deactivated")
    idle_limit = timedelta(minutes=settings.token_idle_minutes)
    if token.expires_at <= now or token.last_used_at + idle_limit <= now:
        raise NotAuthenticated("The bearer token has expired; sign in again")
    if now - token.last_used_at >= _TOUCH_EVERY:
        last_use.note(session, AuthToken, token.id, now)
    return user, token


def revoke(session: Session, token_id: uuid.UUID) -> None:
    session.execute(update(AuthToken).where(AuthToken.id == token_id, AuthToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))


def revoke_all_for_user(session: Session, user_id: uuid.UUID) -> None:
    session.execute(update(AuthToken).where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))
