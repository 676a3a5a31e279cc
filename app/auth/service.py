"""Password login with per-account throttling, and logout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.auth import tokens
from app.auth.passwords import verify_password
from app.auth.permissions import ROLE_PERMISSIONS
from app.auth.schemas import TokenOut
from app.config import Settings
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import NotAuthenticated, TooManyRequests
from app.kit.request_context import current_request
from app.models.base import utcnow
from app.models.enums import ActorType
from app.models.user import LoginAttempt, User

MAX_EMAIL_LENGTH = 254  # users.email and login_attempts.email


def login(session: Session, settings: Settings, token_key: bytes, email: str, password: str) -> TokenOut:
    email = email.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not email.isprintable():
        # No account has such an address, and the database could not store it to count or audit the attempt.
        verify_password(password, None)  # the same time as any other miss
        label = "".join(ch if ch.isprintable() else "?" for ch in email)[:MAX_EMAIL_LENGTH]
        audit.record(session, None, "login_failed", outcome="failure", actor_label=label, resource_type="User",
                     detail={"reason": "bad_credentials"})
        session.commit()
        raise NotAuthenticated("Incorrect email or password")
    now = utcnow()
    guess = _reserve_guess(session, settings, email, now)
    if guess.locked_until is not None and guess.locked_until > now:
        retry = max(1, int((guess.locked_until - now).total_seconds()) + 1)
        audit.record(session, None, "login_failed", outcome="denied", actor_label=email,
                     resource_type="User", detail={"reason": "throttled"})
        session.commit()
        raise TooManyRequests(f"Too many failed sign-ins for this account; try again in {retry} seconds",
                              headers={"Retry-After": str(retry)})

    user = session.scalar(select(User).where(User.email == email))
    if not verify_password(password, user.password_hash if user else None) or user is None or not user.active:
        reason = "bad_credentials" if user is None or user.active else "inactive_account"
        if guess.failures >= settings.login_max_failures:  # that was the last guess of the window
            session.execute(update(LoginAttempt).where(LoginAttempt.email == email).values(
                locked_until=now + timedelta(minutes=settings.login_lockout_minutes)))
        audit.record(session, None, "login_failed", outcome="failure", actor_label=email,
                     resource_type="User", resource_id=user.id if user else None, detail={"reason": reason})
        session.commit()
        raise NotAuthenticated("Incorrect email or password")

    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    info = current_request()
    raw, token = tokens.issue(session, token_key, settings, user,
                              client_ip=info.client_ip if info else None,
                              user_agent=info.user_agent if info else None)
    actor = Actor(id=user.id, type=ActorType.USER, role=user.role, label=user.email,
                  permissions=ROLE_PERMISSIONS[user.role], token_id=token.id)
    audit.record(session, actor, "login", resource_type="User", resource_id=user.id)
    # The token dies at whichever comes first: the idle limit or its absolute lifetime.
    return TokenOut(access_token=raw, expires_in=min(settings.token_idle_minutes * 60, settings.token_max_hours * 3600))


@dataclass(frozen=True)
class _Guess:
    failures: int  # guesses counted in this window, this one included
    locked_until: datetime | None


def _reserve_guess(session: Session, settings: Settings, email: str, now: datetime) -> _Guess:
    """Count this guess *before* the password is checked, in one atomic upsert that locks the account's row.

    Concurrent guesses for one email queue on that row lock (PostgreSQL; SQLite has one writer anyway)
    until the guess before them has committed its outcome, so the count each one sees is exact and at
    most `login_max_failures` passwords are ever evaluated per window. A success deletes the row; an old
    streak that is not locked starts again at 1. Past the limit the account is locked for the window.
    """
    window_start = now - timedelta(minutes=settings.login_lockout_minutes)
    table = LoginAttempt.__table__.c
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stale = and_(table.first_failed_at < window_start, or_(table.locked_until.is_(None), table.locked_until <= now))
    over = table.failures + 1 > settings.login_max_failures
    upsert = insert(LoginAttempt).values(email=email, failures=1, first_failed_at=now, locked_until=None)
    stmt = upsert.on_conflict_do_update(index_elements=[LoginAttempt.email], set_={
        "failures": case((stale, 1), else_=table.failures + 1),
        "first_failed_at": case((stale, now), else_=table.first_failed_at),
        "locked_until": case((stale, None),
                             (and_(over, or_(table.locked_until.is_(None), table.locked_until <= now)),
                              now + timedelta(minutes=settings.login_lockout_minutes)),
                             else_=table.locked_until),
    }).returning(LoginAttempt.failures, LoginAttempt.locked_until)
    failures, locked_until = session.execute(stmt).one()
    return _Guess(failures, locked_until)


def logout(session: Session, actor: Actor) -> None:
    if actor.token_id is not None:
        tokens.revoke(session, actor.token_id)
    audit.record(session, actor, "logout", resource_type="User", resource_id=actor.id)
