"""Dry-needling sessions and what gates them: consents and precaution screenings; outcome measures."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin, VersionedMixin, new_id, utcnow
from app.models.clinical import ClinicalRecordMixin
from app.models.enums import RECORD_STATUSES

CONSENT_KINDS = ("ims_dry_needling", "electrical_stimulation", "data_sharing")
PRECAUTIONS = ("anticoagulants", "bleeding_disorder", "pregnancy", "pacemaker_or_implanted_device", "epilepsy",
               "needle_phobia", "lymphedema", "local_infection_or_lesion", "immunosuppression", "metal_allergy",
               "diabetes", "recent_surgery", "vasovagal_history", "lung_field_caution")


class Consent(IdMixin, TimestampMixin, VersionedMixin, Base):
    """Informed consent; withdrawn, never deleted."""

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(f"kind IN {CONSENT_KINDS!r}", name="kind"),
        CheckConstraint("method IN ('written', 'verbal')", name="method"),
        Index(None, "patient_id", "kind"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(30))
    obtained_at: Mapped[datetime] = mapped_column()
    obtained_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    method: Mapped[str] = mapped_column(String(10))
    form_version: Mapped[str | None] = mapped_column(String(40))
    risks_discussed: Mapped[list[str]] = mapped_column(JSON)
    patient_questions: Mapped[str | None] = mapped_column(String(4000))
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    withdrawn_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    withdrawal_reason: Mapped[str | None] = mapped_column(String(2000))


class Screening(IdMixin, Base):
    """A contraindication/precaution screen; the latest is current. Corrections are a new screen."""

    __tablename__ = "screenings"
    __table_args__ = (Index(None, "patient_id", "screened_at"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    screened_at: Mapped[datetime] = mapped_column()
    screened_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    checklist: Mapped[dict[str, bool]] = mapped_column(JSON)  # every name in PRECAUTIONS
    lymphedema_limb: Mapped[str | None] = mapped_column(String(20))
    # Issue 16: where a local infection or skin lesion is ([{region, side, description}]) and which lymph
    # node basins were dissected (["left_axilla", ...]); None on screens recorded before they were asked.
    lesion_sites: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    node_dissections: Mapped[list[str] | None] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(String(4000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RedFlagAcknowledgement(IdMixin, Base):
    """A clinician has seen an assessment's red flags and says what was done; append-only, audited."""

    __tablename__ = "red_flag_acknowledgements"
    __table_args__ = (Index(None, "patient_id", "assessment_id"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    assessment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessments.id"))
    flags: Mapped[list[str]] = mapped_column(JSON)
    action: Mapped[str] = mapped_column(String(2000))
    acknowledged_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)


class Treatment(IdMixin, TimestampMixin, ClinicalRecordMixin, Base):
    """An IMS session; its clinical content (needles, e-stim, adverse events...) lives in `content`."""

    __tablename__ = "treatments"
    __table_args__ = (
        CheckConstraint(f"status IN {RECORD_STATUSES!r}", name="status"),
        Index(None, "patient_id", "started_at", "id"),
        Index(None, "episode_id", "started_at"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episodes.id"))
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assessments.id"))
    started_at: Mapped[datetime] = mapped_column()
    # The visit this note documents (issue 14); completing a visit without a signed note lists it as unsigned.
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointments.id"), index=True)


class OutcomeAdministration(Base):
    """One completed questionnaire; the server computed the score from the item responses."""

    __tablename__ = "outcome_administrations"
    __table_args__ = (Index(None, "patient_id", "administered_at"), Index(None, "episode_id", "instrument"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("episodes.id"))
    instrument: Mapped[str] = mapped_column(String(20))
    administered_at: Mapped[datetime] = mapped_column()
    responses: Mapped[list[Any]] = mapped_column(JSON)
    labels: Mapped[list[str] | None] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)
    subscores: Mapped[dict[str, float] | None] = mapped_column(JSON)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
