"""Care relationships: which clinician may open which patient's chart, since when, and why.

A row is a care-team membership (started by the front desk, an admin, a colleague already on the team,
or the therapist who registered the patient) or a time-limited break-the-glass access a clinician opened
for themselves with a reason. Rows are ended, never deleted: the history of who had access stays.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin


class CareKind(StrEnum):
    CARE_TEAM = "care_team"
    BREAK_GLASS = "break_glass"


class CareRelationship(IdMixin, Base):
    __tablename__ = "care_relationships"
    __table_args__ = (Index(None, "user_id", "patient_id"), Index(None, "patient_id"))

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))  # CareKind
    reason: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column()
    started_by: Mapped[uuid.UUID | None] = mapped_column()  # a user or API client id; None: a migration
    started_by_type: Mapped[str] = mapped_column(String(20))  # user | api_client | system
    expires_at: Mapped[datetime | None] = mapped_column()  # break-the-glass only
    ended_at: Mapped[datetime | None] = mapped_column()
    ended_by: Mapped[uuid.UUID | None] = mapped_column()
