"""Patient demographics (never clinical content: reception may read all of it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from app.models.base import Base, IdMixin, TimestampMixin, VersionedMixin


def _search_key(length: int) -> TypeEngine[str]:
    return String(length).with_variant(String(length, collation="C"), "postgresql")


# How the patient wants to hear from the clinic (reminders); "none" means do not contact.
CONTACT_PREFERENCES = ("sms", "email", "phone", "none")


class Patient(IdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "patients"
    __table_args__ = (
        # Search keys use byte-order ("C") collation on PostgreSQL so one btree serves both prefix
        # LIKE 'abc%' and the keyset ordering of list pages.
        Index(None, "family_name_norm", "given_name_norm", "id"),
        Index(None, "given_name_norm"),
        Index(None, "phone_digits"),
        Index(None, "chart_number_norm", unique=True),  # "a-100" and "A-100" are one chart number
        Index(None, "birth_date"),
        CheckConstraint(f"contact_preference IN {CONTACT_PREFERENCES!r}", name="contact_preference"),
    )

    chart_number: Mapped[str] = mapped_column(String(40), unique=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    preferred_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column()
    sex_at_birth: Mapped[str | None] = mapped_column(String(20))
    gender_identity: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    health_card_number: Mapped[str | None] = mapped_column(String(20))
    health_card_province: Mapped[str | None] = mapped_column(String(2))
    emergency_contact: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    referring_physician: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(String(4000))
    active: Mapped[bool] = mapped_column(default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column()
    # Consent to be contacted with reminders: off until the patient says yes; the server stamps when.
    contact_preference: Mapped[str | None] = mapped_column(String(10))
    reminder_consent: Mapped[bool] = mapped_column(default=False, server_default=false())
    reminder_consent_at: Mapped[datetime | None] = mapped_column()

    # Search keys maintained by the service: lower-cased, accent-folded names; phone digits only.
    family_name_norm: Mapped[str] = mapped_column(_search_key(100))
    given_name_norm: Mapped[str] = mapped_column(_search_key(100))
    chart_number_norm: Mapped[str] = mapped_column(_search_key(40))
    phone_digits: Mapped[str | None] = mapped_column(_search_key(40))


class Counter(Base):
    """Named monotonic counters (chart numbers); one row lock per increment, held to commit."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
