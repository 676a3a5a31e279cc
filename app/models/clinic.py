"""The clinic profile: a single row, seeded by the first migration."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, VersionedMixin

CLINIC_ROW_ID = 1


class Clinic(TimestampMixin, VersionedMixin, Base):
    __tablename__ = "clinic"
    __table_args__ = (CheckConstraint("id = 1", name="singleton"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    time_zone: Mapped[str] = mapped_column(String(64))
    # Precaution screens older than this many clinic days warn on a treatment (0 = screen the same day).
    screening_recheck_days: Mapped[int] = mapped_column(default=0, server_default="0")
    # A screen older than this many clinic days is not current: no needling until a new screen (issue 16).
    screening_valid_days: Mapped[int] = mapped_column(default=30, server_default="30")
    # A patient's cancellation less than this many hours before the visit is flagged late.
    late_cancellation_hours: Mapped[int] = mapped_column(default=24, server_default="24")
    # How much of the patient a therapist's calendar feed shows: "initials" (default), "full_name" or "none".
    calendar_feed_detail: Mapped[str] = mapped_column(String(20), default="initials", server_default="initials")
