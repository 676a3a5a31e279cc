"""Outcome questionnaires on the tablet, and the record's PDF for printing.

The form for each instrument is generated from the definition `GET /api/v1/reference/instruments` serves
(`InstrumentOut`: item count, answer kind, range or choices, item labels, VISA-A's special items); page
script posts the answers to `POST /api/v1/patients/{id}/outcomes`, so the server validates and scores them
exactly as for any client and the page shows its score, or its field errors beside the items they name.

Each page read is the API read it stands for: the demographics (`patients.read`), the patient's results
(`outcomes.list_for_patient`), the open episodes (`episodes.list_for_patient`), with their audit rows and
the care rule. The PDF is `GET /api/v1/patients/{id}/export?format=pdf` itself (same permission, care rule
and `export` audit row), answered inline so the browser's viewer can print it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.access import policy
from app.auth.permissions import Permission
from app.db import SessionDep
from app.episodes import service as episodes
from app.exports import patient_record
from app.kit.errors import NotFound
from app.kit.pagination import PageParams
from app.models.enums import EpisodeStatus
from app.outcomes import service as outcomes
from app.outcomes.instruments import INSTRUMENTS
from app.outcomes.schemas import InstrumentOut
from app.patients import service as patients
from app.web.deps import PageSession
from app.web.templates import render

router = APIRouter(prefix="/app", include_in_schema=False)
RECENT = 20


def instrument_list() -> list[InstrumentOut]:
    return [InstrumentOut(**i.public()) for i in INSTRUMENTS.values()]  # as GET /api/v1/reference/instruments


@router.get("/patients/{patient_id}/questionnaires")
def questionnaires(request: Request, session: SessionDep, page: PageSession, patient_id: uuid.UUID) -> Response:
    """The instruments to fill in, and the patient's latest results (GET /api/v1/patients/{id}/outcomes)."""
    policy.authorize(session, request, page.actor, Permission.CLINICAL_READ)
    patient = patients.read(session, page.actor, patient_id)
    results, _ = outcomes.list_for_patient(session, page.actor, patient, PageParams(RECENT, None),
                                           instrument=None, episode_id=None)
    names = {i.code: i.name for i in INSTRUMENTS.values()}
    return render(request, "questionnaires.html", page=page, patient=patient, instruments=instrument_list(),
                  results=results, names=names, may_write=page.actor.can(Permission.CLINICAL_WRITE))


@router.get("/patients/{patient_id}/questionnaires/{code}")
def questionnaire(request: Request, session: SessionDep, page: PageSession, patient_id: uuid.UUID,
                  code: str) -> Response:
    """One instrument's form (recorded by a clinician: the API's CLINICAL_WRITE rule, care team included)."""
    policy.authorize(session, request, page.actor, Permission.CLINICAL_WRITE)
    instrument = INSTRUMENTS.get(code.lower())
    if instrument is None:
        raise NotFound(f"There is no questionnaire {code!r}; choose one from the patient's questionnaires page")
    patient = patients.read(session, page.actor, patient_id)
    open_episodes, _ = episodes.list_for_patient(session, page.actor, patient, PageParams(50, None), EpisodeStatus.OPEN)
    definition = InstrumentOut(**instrument.public())
    return render(request, "outcome.html", page=page, patient=patient, instrument=definition,
                  items=form_items(definition), episodes=open_episodes)


@router.get("/patients/{patient_id}/record.pdf")
def record_pdf(request: Request, session: SessionDep, page: PageSession, patient_id: uuid.UUID) -> Response:
    """The printable record: the export route itself, shown in the browser rather than downloaded."""
    policy.authorize(session, request, page.actor, Permission.PATIENT_EXPORT)
    response = patient_record.export_patient(request, session, page.actor, patient_id, format="pdf")
    response.headers["Content-Disposition"] = response.headers["Content-Disposition"].replace("attachment", "inline")
    return response


@dataclass(frozen=True)
class Group:
    name: str  # the radio group's form name
    options: list[tuple[str, str]]  # (value sent, text shown)
    heading: str | None = None


@dataclass(frozen=True)
class Item:
    index: int
    legend: str
    kind: str  # integer | yes_no | choice | branch: how outcome.js turns the checked radios into an answer
    groups: list[Group]
    notes: list[str] = field(default_factory=list)
    activity: bool = False  # PSFS: the patient names the activity
    optional: bool = False


def _words(key: str) -> str:
    return key.replace("_", " ").capitalize()


def form_items(instrument: InstrumentOut) -> list[Item]:
    """The form, item by item, from the instrument's public definition (nothing else is known to the page)."""
    items = []
    scales = instrument.item_scales or {}
    labels = instrument.item_labels or []
    psfs = instrument.code == "psfs"
    for i in range(instrument.item_count["max"]):
        name, scale = f"item-{i}", scales.get(str(i))
        legend = f"{i + 1}. " + (labels[i][:1].upper() + labels[i][1:] if i < len(labels)
                                 else f"Activity {i + 1}" if psfs else f"Item {i + 1}")
        if scale and scale.get("answer") == "branch":
            branches: dict[str, Any] = scale["branches"]
            minutes = list(next(iter(branches.values()))["minutes"])
            items.append(Item(i, legend, "branch", [
                Group(f"{name}-branch", [(b, b) for b in branches], "Branch"),
                Group(f"{name}-minutes", [(m, m) for m in minutes], "Minutes of training or practice")],
                notes=[f"{b}: {spec['label']}" for b, spec in branches.items()]))
        elif scale and scale.get("answer") == "choice":
            items.append(Item(i, legend, "choice", [Group(name, [(k, _words(k)) for k in scale["choices"]])]))
        elif instrument.answer == "yes_no":
            items.append(Item(i, legend, "yes_no", [Group(name, [("true", "Yes"), ("false", "No")])]))
        elif instrument.answer == "choice":
            items.append(Item(i, legend, "choice", [Group(name, [(k, _words(k)) for k in instrument.choices or {}])]))
        else:
            lo, hi = (instrument.item_range or {"min": 0, "max": 10}).values()
            items.append(Item(i, legend, "integer", [Group(name, [(str(v), str(v)) for v in range(lo, hi + 1)])],
                              activity=psfs, optional=psfs and i >= instrument.item_count["min"]))
    return items
