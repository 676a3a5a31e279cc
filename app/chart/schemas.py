from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from app.appointments.schemas import Visit
from app.assessments.summary import SegmentalSummary
from app.consents.schemas import ConsentOut
from app.episodes.schemas import EpisodeOut
from app.outcomes.schemas import Progress
from app.patients.schemas import PatientOut
from app.screenings.red_flags import RedFlagsOut
from app.screenings.schemas import ScreeningOut
from app.treatments.schemas import TreatmentOut


class LatestAssessment(BaseModel):
    id: uuid.UUID
    episode_id: uuid.UUID
    assessed_at: datetime
    status: str
    author_id: uuid.UUID
    summary: SegmentalSummary


class Chart(BaseModel):
    patient: PatientOut
    open_episodes: list[EpisodeOut]
    active_consents: list[ConsentOut]
    current_screening: ScreeningOut | None
    precautions: list[str]
    red_flags: list[RedFlagsOut] = []  # issue 16: from the assessments' history; outstanding ones block signing
    latest_assessment: LatestAssessment | None
    recent_treatments: list[TreatmentOut]
    progress: list[Progress]
    upcoming_visits: list[Visit] = []  # soonest first (issue 14)
    past_visits: list[Visit] = []      # most recent first, cancelled and missed ones included
