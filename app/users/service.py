"""Staff management rules: unique emails, hashed passwords, deactivation that ends every session."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth import tokens
from app.auth.passwords import hash_password
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import Conflict
from app.kit.etag import check_version
from app.kit.events import EventType, announce
from app.kit.pagination import PageParams, paginate
from app.kit.patch import changes_of
from app.kit.repository import get_or_404
from app.models.base import utcnow
from app.models.user import User
from app.users.schemas import UserCreate, UserUpdate


def get(session: Session, user_id: uuid.UUID) -> User:
    return get_or_404(session, User, user_id, "user")


def _ensure_email_free(session: Session, email: str, except_id: uuid.UUID | None = None) -> None:
    clash = session.scalar(select(User.id).where(User.email == email))
    if clash is not None and clash != except_id:
        raise Conflict(f"A user with email {email} already exists")


def _flush(session: Session, email: str) -> None:
    """Two requests taking one email at once both pass the check above; the unique index stops the second."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A user with email {email} already exists") from exc


def create(session: Session, actor: Actor | None, data: UserCreate) -> User:
    email = data.email.lower()
    _ensure_email_free(session, email)
    user = User(email=email, full_name=data.full_name, role=data.role,
                password_hash=hash_password(data.password), registration_number=data.registration_number,
                authorized_to_needle=data.authorized_to_needle, roster_expires_on=data.roster_expires_on, active=True)
    session.add(user)
    _flush(session, email)
    audit.record(session, actor, "create", resource_type="User", resource_id=user.id,
                 resource_version=user.version)
    announce(session, EventType.USER_CREATED, user)
    return user


def update(session: Session, actor: Actor, user: User, data: UserUpdate, expected_version: int) -> User:
    check_version(user.version, expected_version)
    changes = changes_of(data, ("email", "full_name", "role", "authorized_to_needle"))
    if "email" in changes:
        changes["email"] = changes["email"].lower()
        _ensure_email_free(session, changes["email"], user.id)
    password = changes.pop("password", None)
    if password is not None:
        user.password_hash = hash_password(password)
        tokens.revoke_all_for_user(session, user.id)  # a reset password ends existing sessions
    if changes.get("role") not in (None, "admin") and user.role == "admin":
        _ensure_another_admin(session, user)
    for name, value in changes.items():
        setattr(user, name, value)
    _flush(session, user.email)
    fields = sorted([*changes, *(["password"] if password else [])])
    audit.record(session, actor, "update", resource_type="User", resource_id=user.id,
                 resource_version=user.version, detail={"fields": fields})
    announce(session, EventType.USER_UPDATED, user)
    return user


def deactivate(session: Session, actor: Actor, user: User) -> User:
    """Idempotent, and a repeat still ends any session. It is audited as the deactivation attempt it is
    (marked `already_inactive`); only a real change is announced, so integrators hear it once."""
    repeat = not user.active
    if not repeat:
        if user.role == "admin":
            _ensure_another_admin(session, user)
        user.active = False
        user.deactivated_at = utcnow()
        session.flush()
    tokens.revoke_all_for_user(session, user.id)
    audit.record(session, actor, "deactivate", resource_type="User", resource_id=user.id,
                 resource_version=user.version, detail={"already_inactive": True} if repeat else None)
    if not repeat:
        announce(session, EventType.USER_DEACTIVATED, user)
    return user


def _ensure_another_admin(session: Session, user: User) -> None:
    # Lock the active admins (in id order, so requests cannot deadlock): two admins removing each other at
    # once must not both succeed. The second waits, then sees the first one's change.
    admins = session.scalars(select(User.id).where(User.role == "admin", User.active.is_(True))
                             .order_by(User.id).with_for_update()).all()
    if not any(admin_id != user.id for admin_id in admins):
        raise Conflict("This is the last active admin; appoint another admin first")


def list_users(session: Session, actor: Actor, params: PageParams, *, role: str | None,
               active: bool | None) -> tuple[list[User], str | None]:
    stmt = select(User)
    if role:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    rows, cursor = paginate(session, stmt, [User.id], params)
    audit.record(session, actor, "search", resource_type="User",
                 detail={"role": role, "active": active, "count": len(rows)})
    return rows, cursor
