"""Today's alerts at a glance: per patient, what the safety rules will ask about before needling.

Nothing here decides anything new. The consents and screens are loaded for all of Today's patients at once
(three queries, whatever the length of the list) into the same `SafetyContext` the treatment rules judge a
session against; `active_kinds` says which consents are active, `screen_at`/`screen_age` and the clinic's
`screening_valid_days` say whether a screen is current, and `screenings.present` lists its precautions —
the very functions `treatments.safety.gate` calls. Unsigned notes are the patient's draft assessments and
treatments (the notes a signature is still owed on).

The reads are audited as the API reads they stand for (a search of consents, screens and notes, naming
every id shown), and only for patients whose clinical record the actor may read (the care rule).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import policy
from app.clinic import service as clinic
from app.consents.service import active_kinds
from app.kit import audit
from app.kit.actor import Actor
from app.models.base import utcnow
from app.models.clinical import Assessment
from app.models.patient import Patient
from app.models.treatment import Consent, Screening, Treatment
from app.screenings.service import present
from app.treatments.safety import SafetyContext

CONSENTS = {"ims_dry_needling": "No IMS consent", "electrical_stimulation": "No e-stim consent"}


@dataclass
class Alerts:
    missing_consents: list[str] = field(default_factory=list)  # the alert texts, e.g. "No IMS consent"
    precautions: list[str] = field(default_factory=list)  # from the current screen, e.g. "anticoagulants"
    no_current_screen: bool = False
    unsigned_notes: int = 0

    @property
    def any(self) -> bool:
        return bool(self.missing_consents or self.precautions or self.no_current_screen or self.unsigned_notes)


def for_patients(session: Session, actor: Actor, patient_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Alerts]:
    """Alerts for each patient whose clinical record `actor` may read (others are left out)."""
    ids = set(patient_ids)
    if not ids:
        return {}
    care = policy.patients_in_care(actor, Patient.id)
    if care is not None:  # the same care rule as a chart read: alerts are clinical content
        ids = set(session.scalars(select(Patient.id).where(care, Patient.id.in_(ids))))
    if not ids:
        return {}
    consents: dict[uuid.UUID, list[Consent]] = defaultdict(list)
    for c in session.scalars(select(Consent).where(Consent.patient_id.in_(ids))
                             .order_by(Consent.obtained_at.desc(), Consent.id)):
        consents[c.patient_id].append(c)
    screens: dict[uuid.UUID, list[Screening]] = defaultdict(list)
    for s in session.scalars(select(Screening).where(Screening.patient_id.in_(ids))
                             .order_by(Screening.screened_at.desc(), Screening.id.desc())):
        screens[s.patient_id].append(s)
    drafts: dict[uuid.UUID, int] = defaultdict(int)
    draft_ids: dict[str, list[str]] = {}
    for model in (Assessment, Treatment):
        found = draft_ids.setdefault(model.__name__, [])
        for patient_id, note_id in session.execute(select(model.patient_id, model.id).where(
                model.patient_id.in_(ids), model.status == "draft")):
            drafts[patient_id] += 1
            found.append(str(note_id))
    profile = clinic.get(session)
    zone, now = ZoneInfo(profile.time_zone), utcnow()
    out: dict[uuid.UUID, Alerts] = {}
    for pid in ids:
        ctx = SafetyContext(consents[pid], screens[pid], profile.screening_recheck_days, zone,
                            profile.screening_valid_days)
        kinds = active_kinds(ctx.consents, now)
        screen = ctx.screen_at(now)
        current = screen is not None and ctx.screen_age(screen, now) <= ctx.valid_days
        out[pid] = Alerts(missing_consents=[text for kind, text in CONSENTS.items() if kind not in kinds],
                          precautions=present(screen) if screen is not None and current else [],
                          no_current_screen=not current, unsigned_notes=drafts[pid])
    shown = sorted(str(i) for i in ids)
    audit.record(session, actor, "search", resource_type="Consent",
                 detail={"view": "today-alerts", "patient_ids": shown,
                         "result_ids": sorted(str(c.id) for cs in consents.values() for c in cs)})
    audit.record(session, actor, "search", resource_type="Screening",
                 detail={"view": "today-alerts", "patient_ids": shown,
                         "result_ids": sorted(str(s.id) for ss in screens.values() for s in ss)})
    for resource_type, found in draft_ids.items():
        audit.record(session, actor, "search", resource_type=resource_type,
                     detail={"view": "today-alerts", "status": "draft", "patient_ids": shown, "result_ids": found})
    return out

