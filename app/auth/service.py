"""Password login with per-account throttling, and logout."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
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
    attempt = session.get(LoginAttempt, email)
    if attempt and attempt.locked_until and attempt.locked_until > now:
        retry = max(1, int((attempt.locked_until - now).total_seconds()) + 1)
        audit.record_failure(session, None, "login_failed", outcome="denied", actor_label=email,
                             resource_type="User", detail={"reason": "throttled"})
        raise TooManyRequests(f"Too many failed sign-ins for this account; try again in {retry} seconds",
                              headers={"Retry-After": str(retry)})

    user = session.scalar(select(User).where(User.email == email))
    if not verify_password(password, user.password_hash if user else None) or user is None or not user.active:
        reason = "bad_credentials" if user is None or user.active else "inactive_account"
        session.rollback()
        _count_failure(session, settings, email)
        audit.record(session, None, "login_failed", outcome="failure", actor_label=email,
                     resource_type="User", resource_id=user.id if user else None, detail={"reason": reason})
        session.commit()
        raise NotAuthenticated("Incorrect email or password")

    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    info = current_request()
    raw, token = tokens.issue(session, token_key, settings, user,
                              client_ip=info.client_ip if info else None,
                              user_agent=info.user_agent if info else None)
    actor = Actor(id=user.id, type="user", role=user.role, label=user.email,
                  permissions=ROLE_PERMISSIONS[user.role], token_id=token.id)
    audit.record(session, actor, "login", resource_type="User", resource_id=user.id)
    # The token dies at whichever comes first: the idle limit or its absolute lifetime.
    return TokenOut(access_token=raw, expires_in=min(settings.token_idle_minutes * 60, settings.token_max_hours * 3600))


def _count_failure(session: Session, settings: Settings, email: str) -> None:
    """Upsert: concurrent failures for one email must all count, never collide."""
    now = utcnow()
    window_start = now - timedelta(minutes=settings.login_lockout_minutes)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(LoginAttempt).values(email=email, failures=1, first_failed_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=[LoginAttempt.email], set_={"failures": LoginAttempt.failures + 1})
    session.execute(stmt)
    attempt = session.execute(
        select(LoginAttempt).where(LoginAttempt.email == email).execution_options(populate_existing=True)
    ).scalar_one()
    if attempt.first_failed_at < window_start:  # an old streak: start counting again
        attempt.failures, attempt.first_failed_at, attempt.locked_until = 1, now, None
    elif attempt.failures >= settings.login_max_failures:
        attempt.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
    session.flush()


def logout(session: Session, actor: Actor) -> None:
    if actor.token_id is not None:
        tokens.revoke(session, actor.token_id)
    audit.record(session, actor, "logout", resource_type="User", resource_id=actor.id)
