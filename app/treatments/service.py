"""Treatment sessions: who may needle and the safety gates; the lifecycle every note shares (load, list,
sign, amend, discard, history) is `notes`, a ClinicalNoteService."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.appointments import service as appointments
from app.clinic import service as clinic
from app.episodes import service as episodes
from app.kit import clinical_record
from app.kit.actor import Actor, clinician_id
from app.kit.clinical_note_service import ClinicalNoteService, validated_content
from app.kit.clinical_types import ContentWarning
from app.kit.errors import Conflict, FieldError, Forbidden, Unprocessable, field_error
from app.kit.events import EventType, announce
from app.kit.pagination import PageParams
from app.models.base import utcnow
from app.models.clinical import Assessment
from app.models.enums import RecordStatus
from app.models.patient import Patient
from app.models.treatment import Treatment
from app.models.user import User
from app.reference.catalog import Catalog
from app.reference.service import catalog
from app.screenings import red_flags
from app.treatments import responses, safety
from app.treatments.safety import SafetyContext
from app.treatments.schemas import TreatmentAmendment, TreatmentContent, TreatmentCreate, TreatmentOut, TreatmentUpdate

RECORD_TYPE, LABEL = "treatment", "treatment session"
_RECORD_FIELDS = ("id", "patient_id", "episode_id", "assessment_id", "appointment_id", "author_id", "status",
                  "signed_at", "signed_by", "content_hash", "revision", "version", "created_at", "updated_at",
                  "discarded_at")


notes = ClinicalNoteService(Treatment, RECORD_TYPE, LABEL, Treatment.started_at)
get, read, recent, discard = notes.get, notes.read, notes.recent, notes.discard  # the lifecycle, as is


def content_of(treatment: Treatment) -> TreatmentContent:
    return TreatmentContent.model_validate(treatment.content)


def to_out(session: Session, treatment: Treatment, ctx: SafetyContext | None = None) -> TreatmentOut:
    content = content_of(treatment)
    cat = catalog(session)
    ctx = ctx or SafetyContext.load(session, treatment.patient_id)
    warnings = [ContentWarning(field=f, message=m) for f, m in responses.retest_warnings(content)]
    try:
        warnings += safety.check_needles(cat, content)
        warnings += safety.gate(ctx, cat, content, need_ims_consent=False)
    except (Conflict, Unprocessable) as exc:  # e.g. consent withdrawn or a rule added since: the record stands
        warnings += [ContentWarning(field=e.field, message=e.message) for e in exc.errors or []]
    muscles = sorted({n.muscle for n in content.needles})
    billed = billing_units(cat, muscles)
    cpt = None if not billed else ("20560" if len(billed) <= 2 else "20561")
    data = content.model_dump()
    if data["needles_inserted"] is None:
        data["needles_inserted"] = len(content.needles)
    return TreatmentOut(**data, **{f: getattr(treatment, f) for f in _RECORD_FIELDS}, muscles_needled=muscles,
                        billed_muscles=billed, total_insertions=sum(n.insertions for n in content.needles),
                        billing_cpt=cpt, warnings=warnings)


# A generic group code counts only when none of its named parts was needled in the same session.
_GROUP_CODES = {"erector_spinae": frozenset({"longissimus", "iliocostalis", "spinalis"})}


def billing_units(cat: Catalog, codes: Sequence[str]) -> list[str]:
    """The distinct muscles for CPT 20560/20561: parts of one muscle (trapezius fibres, iliopsoas and its heads,
    multifidus at several levels, longissimus capitis/cervicis/thoracis) count once; see app/reference/ANATOMY.md."""
    units = {(m.billing_unit if (m := cat.muscle(code)) else code) for code in codes}
    return sorted(u for u in units if not (_GROUP_CODES.get(u, frozenset()) & units))


def create(session: Session, actor: Actor, patient: Patient, data: TreatmentCreate) -> Treatment:
    author_id = _require_needler(session, actor)
    episode = episodes.open_of_patient(session, patient.id, data.episode_id, "open a new episode before treating")
    if data.assessment_id is not None:
        assessment = session.get(Assessment, data.assessment_id)
        if assessment is None or assessment.patient_id != patient.id:
            raise field_error("assessment_id", "no such assessment for this patient")
    appointment_id = appointments.linkable(session, patient.id, data.appointment_id)
    values = data.model_dump(exclude={"episode_id", "assessment_id", "appointment_id"})
    values["started_at"] = data.started_at or utcnow()
    content = _checked(session, values)
    responses.check(session, catalog(session), content, patient.id, None)
    safety.gate(SafetyContext.load(session, patient.id), catalog(session), content, need_ims_consent=True)
    treatment = Treatment(patient_id=patient.id, episode_id=episode.id, assessment_id=data.assessment_id,
                          appointment_id=appointment_id,
                          author_id=author_id, status=RecordStatus.DRAFT, started_at=content.started_at,
                          content=content.model_dump(mode="json"), revision=0)
    session.add(treatment)
    session.flush()
    notes.audit(session, actor, "create", treatment, **_overrides_detail(content))
    announce(session, EventType.TREATMENT_CREATED, treatment)
    return treatment


def update_draft(session: Session, actor: Actor, treatment: Treatment, data: TreatmentUpdate,
                 expected_version: int | None) -> Treatment:
    notes.ensure_draft_editable(treatment, actor, expected_version)
    _require_needler(session, actor)
    content = _merged(session, treatment, data, prefix="")
    safety.gate(SafetyContext.load(session, treatment.patient_id), catalog(session), content, need_ims_consent=False)
    treatment.content = content.model_dump(mode="json")
    treatment.started_at = content.started_at
    session.flush()
    notes.audit(session, actor, "update", treatment, detail={"fields": sorted(data.model_fields_set),
                                                        **_overrides_detail(content).get("detail", {})})
    announce(session, EventType.TREATMENT_UPDATED, treatment)
    return treatment


def sign(session: Session, actor: Actor, treatment: Treatment, expected_version: int | None) -> Treatment:
    """Signing is a documentation checkpoint: every gate, the count, sharps, haemostasis, the day's consent,
    pneumothorax discussed for thoracic needles, red flags acknowledged, and a current roster."""
    clinical_record.lock(treatment)  # a racing signature is seen before the gates run on stale content
    _require_needler(session, actor, signing=True)
    if treatment.status == RecordStatus.DRAFT:
        for step in _sign_steps(session, treatment):
            step()
    return notes.sign(session, actor, treatment, expected_version)


def _sign_steps(session: Session, treatment: Treatment) -> list[Callable[[], object]]:
    """The signing checkpoint after the roster, in the order sign() enforces it; each step raises its refusal."""
    content = content_of(treatment)
    ctx = SafetyContext.load(session, treatment.patient_id)

    def documentation() -> None:
        problems = safety.check_sign(ctx, catalog(session), content)
        problems += red_flags.outstanding_problems(session, treatment.patient_id)
        if problems:
            raise Conflict("cannot sign: " + "; ".join(f"{p.field}: {p.message}" for p in problems[:3]),
                           errors=problems)

    return [lambda: safety.gate(ctx, catalog(session), content, need_ims_consent=True),
            lambda: safety.check_needle_count(content), documentation]


def sign_checkpoint(session: Session, actor: Actor, treatment: Treatment) -> list[FieldError]:
    """Every refusal sign() would give for this draft right now, all at once and without writing anything: the
    charting page shows them before the click. The same steps as sign(), so the two cannot disagree."""
    problems: list[FieldError] = []
    steps: list[Callable[[], object]] = [lambda: _require_needler(session, actor, signing=True)]
    for step in steps + _sign_steps(session, treatment):
        try:
            step()
        except Forbidden as exc:
            problems.append(FieldError(field="roster", message=exc.detail or exc.title))
        except (Conflict, Unprocessable) as exc:
            problems += exc.errors or [FieldError(field="record", message=exc.detail or exc.title)]
    return problems


def amend(session: Session, actor: Actor, treatment: Treatment, data: TreatmentAmendment,
          expected_version: int | None) -> Treatment:
    """The same gates as create and sign: a rostered clinician, consent at the session's time, the count."""
    clinical_record.lock(treatment)  # merge the changes into the current content, not a racing writer's past
    _require_needler(session, actor, signing=True)
    if treatment.status == RecordStatus.SIGNED:
        content = _merged(session, treatment, data.changes, prefix="changes.")
        ctx = SafetyContext.load(session, treatment.patient_id)
        safety.gate(ctx, catalog(session), content, need_ims_consent=True)
        safety.check_needle_count(content)
        if problems := safety.check_sign(ctx, catalog(session), content):
            raise Conflict("cannot amend: " + "; ".join(f"{p.field}: {p.message}" for p in problems[:3]),
                           errors=[FieldError(field="changes." + p.field, message=p.message) for p in problems])
    else:
        content = content_of(treatment)
    notes.amend(session, actor, treatment, data.reason, content, expected_version)
    treatment.started_at = content.started_at
    session.flush()
    return treatment


def list_for_patient(session: Session, actor: Actor, patient: Patient, params: PageParams, *,
                     episode_id: uuid.UUID | None, include_discarded: bool) -> tuple[list[Treatment], str | None]:
    return notes.list_for_patient(session, actor, patient.id, params, episode_id=episode_id,
                                  include_discarded=include_discarded)


def _require_needler(session: Session, actor: Actor, *, signing: bool = False) -> uuid.UUID:
    """The accountable clinician's id; 403 for an API client or a user not rostered to needle. Signing also
    needs the roster on file: a registration number and an expiry that has not passed (clinic date)."""
    user = session.get(User, clinician_id(actor))
    if user is None or not user.authorized_to_needle:
        raise Forbidden("You are not rostered to perform dry needling (authorized_to_needle is false); "
                        "an admin can update your staff record once the College roster confirms it")
    if signing:
        if not user.registration_number or user.roster_expires_on is None:
            raise Forbidden("Your needling roster is incomplete (registration_number and roster_expires_on are "
                            "required to sign); an admin can record them from the College roster")
        if user.roster_expires_on < clinic.today(session):
            raise Forbidden(f"Your needling roster expired on {user.roster_expires_on.isoformat()} "
                            "(roster_expires_on): renew it with the College before signing")
    return user.id


def _overrides_detail(content: TreatmentContent) -> dict[str, Any]:
    """Safety overrides go on the audit row as well as in the note: who overrode what, and why."""
    if not content.safety_overrides:
        return {}
    return {"detail": {"safety_overrides": [o.model_dump() for o in content.safety_overrides]}}


def _merged(session: Session, treatment: Treatment, changes: TreatmentUpdate, prefix: str) -> TreatmentContent:
    required = ("started_at", "needles", "adverse_events", *responses.RESPONSE_LISTS)
    content = _checked(session, clinical_record.merge_changes(treatment.content, changes, required, prefix), prefix)
    responses.check(session, catalog(session), content, treatment.patient_id, treatment.id, prefix)
    return content


def _checked(session: Session, values: dict[str, Any], prefix: str = "") -> TreatmentContent:
    content = validated_content(TreatmentContent, values, "started_at", prefix)
    cat = catalog(session)
    safety.check_needles(cat, content, prefix)
    for needle in content.needles:  # record the kind explicitly: it is part of the signed note
        muscle = cat.muscle(needle.muscle)
        if needle.kind is None and muscle is not None:
            needle.kind = muscle.kind  # type: ignore[assignment]
    return content
