"""The chart page's pictures: the segmental map of the latest assessment and each open episode's progress
chart, drawn by the very renderers behind `GET /api/v1/assessments/{id}/segmental-map.svg` and
`GET /api/v1/episodes/{id}/progress.svg`, from the data the chart read already loaded (and audited).

They are inlined in the page rather than linked: an <img> request carries no CSRF header, so the API would
(rightly) refuse it, and inline SVG keeps its <title> tooltips and is read out by screen readers. Our SVG
writer emits presentation attributes only (no style), so the pages' Content-Security-Policy holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy.orm import Session

from app.assessments import svg as segmental
from app.chart.schemas import Chart
from app.clinic import service as clinic
from app.models.clinical import Assessment
from app.models.patient import Patient
from app.outcomes import svg as progress_svg
from app.reference.service import catalog


@dataclass(frozen=True)
class Picture:
    title: str
    svg: Markup
    episode_id: str | None = None


def _inline(document: str) -> Markup:
    """A standalone SVG document as an element to place in HTML (the XML declaration dropped)."""
    body = document.split("?>", 1)[1].lstrip() if document.startswith("<?xml") else document
    return Markup(body)  # written by app.kit.drawing, every text escaped there


def segmental_map(session: Session, chart: Chart, patient: Patient) -> Picture | None:
    latest = chart.latest_assessment
    if latest is None:
        return None
    assessment = session.get(Assessment, latest.id)  # already in the session: the chart read loaded it
    assert assessment is not None
    zone = ZoneInfo(clinic.get(session).time_zone)
    label = segmental.caption(patient, assessment, zone)
    return Picture(f"Segmental map ({latest.status})",
                   _inline(segmental.render(catalog(session), latest.summary, label)))


def progress_charts(session: Session, chart: Chart, patient: Patient) -> list[Picture]:
    """One chart per open episode that has something to draw (session pain or a questionnaire score)."""
    zone = ZoneInfo(clinic.get(session).time_zone)
    conditions = {e.id: ", ".join(e.conditions) for e in chart.open_episodes}
    out = []
    for progress in chart.progress:
        if not progress.pain and not progress.instruments:
            continue
        title = (f"Episode progress: {patient.family_name.upper()}, {patient.given_name} "
                 f"(chart {patient.chart_number})")
        name = conditions.get(progress.episode_id) or "episode"
        out.append(Picture(f"Progress: {name}", _inline(progress_svg.render(progress, zone, title)),
                           str(progress.episode_id)))
    return out
