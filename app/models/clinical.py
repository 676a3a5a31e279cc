"""Clinical records: episodes of care, assessments, and the append-only revisions of signed notes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin, VersionedMixin, new_id, utcnow
from app.models.enums import EPISODE_STATUSES, RECORD_STATUSES, EpisodeStatus, RecordStatus


class Episode(IdMixin, TimestampMixin, VersionedMixin, Base):
    """An episode of care: one presenting problem, from intake to discharge."""

    __tablename__ = "episodes"
    __table_args__ = (
        CheckConstraint(f"status IN {EPISODE_STATUSES!r}", name="status"),
        Index(None, "patient_id", "status"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    conditions: Mapped[list[str]] = mapped_column(JSON)
    side: Mapped[str | None] = mapped_column(String(20))
    onset_date: Mapped[date | None] = mapped_column()
    referral_source: Mapped[str | None] = mapped_column(String(200))
    goals: Mapped[list[str]] = mapped_column(JSON)
    planned_frequency: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=EpisodeStatus.OPEN.value)
    discharged_on: Mapped[date | None] = mapped_column()
    discharge_reason: Mapped[str | None] = mapped_column(String(40))
    discharge_outcome: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))


class ClinicalRecordMixin(VersionedMixin):
    """The shared lifecycle columns of every clinical note (see app.kit.clinical_record)."""

    status: Mapped[str] = mapped_column(String(20), default=RecordStatus.DRAFT.value)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None] = mapped_column()
    signed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=0)  # latest revision number; 0 while a draft
    discarded_at: Mapped[datetime | None] = mapped_column()
    discarded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class Assessment(IdMixin, TimestampMixin, ClinicalRecordMixin, Base):
    """A Gunn segmental examination; the clinical content lives in `content` (see assessments.schemas)."""

    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint(f"status IN {RECORD_STATUSES!r}", name="status"),
        Index(None, "patient_id", "assessed_at", "id"),
        Index(None, "episode_id"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episodes.id"))
    assessed_at: Mapped[datetime] = mapped_column()
    # The visit this note documents (issue 14); completing a visit without a signed note lists it as unsigned.
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointments.id"), index=True)


class ClinicalRevision(Base):
    """Every signed state of every clinical note: the original at signing, then each amendment.

    Append-only (database triggers refuse UPDATE and DELETE), so the original stays readable.
    """

    __tablename__ = "clinical_revisions"
    __table_args__ = (UniqueConstraint("record_type", "record_id", "revision"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    record_type: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[uuid.UUID] = mapped_column()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    revision: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # original | amendment
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str | None] = mapped_column(String(2000))
