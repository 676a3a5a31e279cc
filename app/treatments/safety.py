"""The rules that keep a needling patient safe: consent, contraindications, precautions, needle count.

Hard rules raise (409 with the exact missing item); precautions come back as warnings in front of the
therapist. Everything a session is judged against is loaded once per patient (`SafetyContext.load`),
so a list of sessions costs no extra queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.assessments.schemas import ContentWarning
from app.clinic import service as clinic
from app.consents.service import active_kinds
from app.kit.errors import Conflict, FieldError, Unprocessable
from app.models.treatment import Consent, Screening
from app.reference.catalog import Catalog, Muscle
from app.screenings.service import present
from app.treatments.schemas import TreatmentContent

ARM_REGIONS = {"shoulder", "arm", "forearm", "hand"}
LEG_REGIONS = {"hip", "thigh", "leg", "foot"}
# Sites over the pleura wherever the needle goes: the shoulder-girdle and chest-wall muscles that lie on the
# ribs, and the scalenes over the lung apex.
LUNG_FIELD_MUSCLES = {"upper_trapezius", "middle_trapezius", "lower_trapezius", "rhomboid_major", "rhomboid_minor",
                      "intercostals", "serratus_anterior", "pectoralis_major", "pectoralis_minor",
                      "iliocostalis_thoracis", "longissimus_thoracis", "serratus_posterior_superior",
                      "serratus_posterior_inferior", "scalenus_anterior", "scalenus_medius", "scalenus_posterior"}
# Back and trunk muscles (erector spinae, latissimus dorsi, quadratus lumborum, multifidus, ...) overlie the
# lung wherever they are needled at a thoracic level.
LUNG_FIELD_REGIONS = {"spine", "trunk"}
_SKEW_SECONDS = 300


@dataclass(frozen=True)
class SafetyContext:
    consents: Sequence[Consent]
    screenings: Sequence[Screening]  # newest first
    recheck_days: int
    zone: ZoneInfo

    @classmethod
    def load(cls, session: Session, patient_id: uuid.UUID) -> SafetyContext:
        profile = clinic.get(session)
        consents = session.scalars(select(Consent).where(Consent.patient_id == patient_id)
                                   .order_by(Consent.obtained_at.desc(), Consent.id)).all()
        screenings = session.scalars(select(Screening).where(Screening.patient_id == patient_id)
                                     .order_by(Screening.screened_at.desc(), Screening.id.desc())).all()
        return cls(consents, screenings, profile.screening_recheck_days, ZoneInfo(profile.time_zone))

    def screen_at(self, at: datetime) -> Screening | None:
        for screening in self.screenings:
            if (screening.screened_at - at).total_seconds() <= _SKEW_SECONDS:
                return screening
        return None


def check_needles(cat: Catalog, content: TreatmentContent, prefix: str = "") -> list[ContentWarning]:
    """Unknown codes and contradictions are 422; a muscle outside the stated root is a warning."""
    errors: list[FieldError] = []
    warnings: list[ContentWarning] = []
    for i, needle in enumerate(content.needles):
        path = f"{prefix}needles[{i}]"
        muscle = cat.muscle(needle.muscle)
        if cat.level(needle.level) is None:
            errors.append(FieldError(field=f"{path}.level", message=f"unknown level {needle.level!r}; use C1-S5"))
        if muscle is None:
            errors.append(FieldError(field=f"{path}.muscle",
                                     message=f"unknown muscle code {needle.muscle!r}; see /api/v1/reference/muscles"))
            continue
        if needle.kind is not None and needle.kind != muscle.kind:
            errors.append(FieldError(field=f"{path}.kind", message=f"{muscle.name} is a {muscle.kind} muscle"))
        if cat.level(needle.level) is not None and not cat.supplies(muscle.code, needle.level):
            warnings.append(ContentWarning(field=f"{path}.level",
                                           message=f"{muscle.name} is not usually supplied by {needle.level}"))
    if content.ended_at and content.ended_at < content.started_at:
        errors.append(FieldError(field=f"{prefix}ended_at", message="is before started_at"))
    inserted = content.needles_inserted if content.needles_inserted is not None else len(content.needles)
    if inserted < len(content.needles):
        errors.append(FieldError(field=f"{prefix}needles_inserted",
                                 message=f"is {inserted} but {len(content.needles)} needle sites are logged"))
    if errors:
        raise Unprocessable("; ".join(f"{e.field}: {e.message}" for e in errors[:5]), errors=errors)
    return warnings


def gate(ctx: SafetyContext, cat: Catalog, content: TreatmentContent, *, need_ims_consent: bool
         ) -> list[ContentWarning]:
    """Refuse what must never happen; return the precautions the therapist must see."""
    at = content.started_at
    kinds = active_kinds(ctx.consents, at)
    screen = ctx.screen_at(at)
    e_stim = [i for i, n in enumerate(content.needles) if n.e_stim is not None]
    problems: list[FieldError] = []
    if need_ims_consent and "ims_dry_needling" not in kinds:
        problems.append(FieldError(field="consent", message=(
            "no active IMS dry-needling consent on file for this patient at the session time; "
            "record one with POST /api/v1/patients/{id}/consents (kind ims_dry_needling)")))
    if e_stim and "electrical_stimulation" not in kinds:
        problems += [FieldError(field=f"needles[{i}].e_stim", message=(
            "electrical stimulation needs an active electrical_stimulation consent, and none is on file"))
            for i in e_stim]
    if e_stim and screen is not None and screen.checklist.get("pacemaker_or_implanted_device"):
        problems += [FieldError(field=f"needles[{i}].e_stim", message=(
            "refused: the current precaution screen records a pacemaker or implanted electrical device"))
            for i in e_stim]
    if problems:
        raise Conflict("; ".join(p.message for p in problems[:3]), errors=problems)
    return _precautions(ctx, cat, content, screen)


def _precautions(ctx: SafetyContext, cat: Catalog, content: TreatmentContent, screen: Screening | None
                 ) -> list[ContentWarning]:
    if screen is None:
        return [ContentWarning(field="screening", message="no precaution screen on file before this session")]
    out: list[ContentWarning] = []
    age = (content.started_at.astimezone(ctx.zone).date() - screen.screened_at.astimezone(ctx.zone).date()).days
    if age > ctx.recheck_days:
        out.append(ContentWarning(field="screening", message=(
            f"the precaution screen is {age} day(s) old; the clinic re-checks every "
            f"{'visit (same day)' if ctx.recheck_days == 0 else f'{ctx.recheck_days} day(s)'}")))
    flags = set(present(screen))
    if content.needles and flags & {"anticoagulants", "bleeding_disorder"}:
        out.append(ContentWarning(field="screening", message=(
            "bleeding risk (" + ", ".join(sorted(flags & {"anticoagulants", "bleeding_disorder"})) +
            "): apply haemostasis and document it")))
    if content.needles and "pregnancy" in flags:
        out.append(ContentWarning(field="screening", message="patient is pregnant: needling is a precaution"))
    for i, needle in enumerate(content.needles):
        muscle = cat.muscle(needle.muscle)
        if muscle is None:
            continue
        if "lymphedema" in flags and screen.lymphedema_limb:
            limb_side, limb = screen.lymphedema_limb.split("_")
            regions = ARM_REGIONS if limb == "arm" else LEG_REGIONS
            if needle.side == limb_side and muscle.body_region in regions:
                out.append(ContentWarning(field=f"needles[{i}]", message=(
                    f"needling {muscle.name} in the lymphedema limb ({screen.lymphedema_limb})")))
        if "lung_field_caution" in flags and over_lung_field(cat, muscle, needle.level):
            out.append(ContentWarning(field=f"needles[{i}]", message=(
                f"{muscle.name} at {needle.level} overlies the lung field and the screen records a "
                "lung-field caution")))
    return out


def over_lung_field(cat: Catalog, muscle: Muscle, level: str) -> bool:
    """A chest-wall or shoulder-girdle site, or a back/trunk muscle (paraspinal or not) at a thoracic level."""
    if muscle.code in LUNG_FIELD_MUSCLES:
        return True
    found = cat.level(level)
    at_thoracic = found is not None and found.region == "thoracic"
    paraspinal_thoracic = muscle.kind == "paraspinal" and (muscle.segment or "").startswith("T")
    return paraspinal_thoracic or (at_thoracic and (muscle.kind == "paraspinal"
                                                    or muscle.body_region in LUNG_FIELD_REGIONS))


def check_needle_count(content: TreatmentContent) -> None:
    """Signing needs every needle accounted for: each one missing needs its own retained_needle event."""
    inserted = content.needles_inserted if content.needles_inserted is not None else len(content.needles)
    removed = content.needles_removed
    if removed is None:
        raise Conflict("needles_removed is not recorded: count the needles removed before signing",
                       errors=[FieldError(field="needles_removed", message="required to sign")])
    if removed == inserted:
        return
    if removed > inserted:
        raise Conflict(f"needle count mismatch: {inserted} inserted but {removed} removed; "
                       "more needles cannot be removed than were inserted — recount",
                       errors=[FieldError(field="needles_removed", message=f"{removed} removed, {inserted} inserted")])
    missing = inserted - removed
    retained = sum(a.kind == "retained_needle" for a in content.adverse_events)
    if retained >= missing:
        return
    unaccounted = missing - retained
    raise Conflict(f"needle count mismatch: {inserted} inserted but {removed} removed, and {retained} "
                   f"retained_needle adverse event(s) documented: {unaccounted} needle(s) unaccounted for; "
                   "find the missing needle(s) or document one retained_needle adverse event per needle retained",
                   errors=[FieldError(field="needles_removed",
                                      message=f"{removed} removed, {inserted} inserted, {retained} documented "
                                              f"as retained: {unaccounted} unaccounted for")])
