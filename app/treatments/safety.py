"""The rules that keep a needling patient safe: consent, a current screen, contraindications, precautions,
needle count and the signing checkpoint.

Hard rules raise (409 with the exact missing item); precautions come back as warnings in front of the
therapist. The topic rules live beside this module: `thorax` (pneumothorax), `screen_rules` (what each
screen item does) and `estim` (electrical stimulation). Everything a session is judged against is loaded
once per patient (`SafetyContext.load`), so a list of sessions costs no extra queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinic import service as clinic
from app.consents.service import active_kinds
from app.kit.clinical_types import ContentWarning
from app.kit.dates import CLOCK_SKEW
from app.kit.errors import Conflict, FieldError, Unprocessable
from app.models.treatment import Consent, Screening
from app.reference.catalog import Catalog
from app.screenings.service import present
from app.treatments import estim, screen_rules, thorax
from app.treatments.schemas import TreatmentContent


@dataclass(frozen=True)
class SafetyContext:
    consents: Sequence[Consent]
    screenings: Sequence[Screening]  # newest first
    recheck_days: int
    zone: ZoneInfo
    valid_days: int = 30  # a screen older than this (clinic days) is not current: no needling

    @classmethod
    def load(cls, session: Session, patient_id: uuid.UUID) -> SafetyContext:
        profile = clinic.profile(session)
        consents = session.scalars(select(Consent).where(Consent.patient_id == patient_id)
                                   .order_by(Consent.obtained_at.desc(), Consent.id)).all()
        screenings = session.scalars(select(Screening).where(Screening.patient_id == patient_id)
                                     .order_by(Screening.screened_at.desc(), Screening.id.desc())).all()
        return cls(consents, screenings, profile.screening_recheck_days, ZoneInfo(profile.time_zone),
                   profile.screening_valid_days)

    def screen_at(self, at: datetime) -> Screening | None:
        for screening in self.screenings:
            if screening.screened_at - at <= CLOCK_SKEW:
                return screening
        return None

    def screen_age(self, screen: Screening, at: datetime) -> int:
        """Clinic days between the screen and the session."""
        return (at.astimezone(self.zone).date() - screen.screened_at.astimezone(self.zone).date()).days


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
        # Records before migration 0011 hold the suboccipitals (segment C1) as peripheral: still valid.
        if needle.kind is not None and needle.kind != muscle.kind and muscle.segment != "C1":
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
    errors += estim.lead_problems(content, prefix)
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
    current = screen is not None and ctx.screen_age(screen, at) <= ctx.valid_days
    if content.needles and not current:
        problems.append(FieldError(field="screening", message=(
            "no current precaution screen: needling (and e-stim) needs a screen recorded within "
            f"{ctx.valid_days} day(s) before the session (the clinic's screening_valid_days); "
            + ("the latest is " + f"{ctx.screen_age(screen, at)} day(s) old" if screen is not None
               else "none is on file") + " - record one with POST /api/v1/patients/{id}/screenings")))
    if screen is not None and current:
        flags = set(present(screen))
        if e_stim and "pacemaker_or_implanted_device" in flags:
            problems += [FieldError(field=f"needles[{i}].e_stim", message=(
                "refused: the current precaution screen records a pacemaker or implanted electrical device"))
                for i in e_stim]
        problems += screen_rules.refusals(cat, content, screen)
        problems += estim.refusals(cat, content, flags)
    if problems:
        raise Conflict("; ".join(p.message for p in problems[:3]), errors=problems)
    return _precautions(ctx, cat, content, screen)


def _precautions(ctx: SafetyContext, cat: Catalog, content: TreatmentContent, screen: Screening | None
                 ) -> list[ContentWarning]:
    flags = set(present(screen)) if screen is not None else set()
    out = thorax.warnings(cat, content, lung_field_caution="lung_field_caution" in flags)
    if screen is None:
        return out
    age = ctx.screen_age(screen, content.started_at)
    if age > ctx.recheck_days:
        out.append(ContentWarning(field="screening", message=(
            f"the precaution screen is {age} day(s) old; the clinic re-checks every "
            f"{'visit (same day)' if ctx.recheck_days == 0 else f'{ctx.recheck_days} day(s)'}")))
    return out + screen_rules.warnings(cat, content, screen) + estim.warnings(content, flags)


def check_sign(ctx: SafetyContext, cat: Catalog, content: TreatmentContent) -> list[FieldError]:
    """The signing checkpoint beyond the needle count: sharps, haemostasis, the day's verbal consent, and the
    pneumothorax risk discussed when any needle went over the thorax."""
    problems: list[FieldError] = []
    if content.sharps_disposed is not True:
        problems.append(FieldError(field="sharps_disposed", message="record that the sharps were disposed of"))
    if content.verbal_consent_today is not True:
        problems.append(FieldError(field="verbal_consent_today", message=(
            "record the day's verbal consent (verbal_consent_today: true) before signing")))
    for i, event in enumerate(content.adverse_events):
        if event.kind == "bleeding" and not event.haemostasis:
            problems.append(FieldError(field=f"adverse_events[{i}].haemostasis", message=(
                "a bleeding event needs the haemostasis recorded before signing")))
    if (problem := thorax.consent_problem(cat, content, ctx.consents, content.started_at)) is not None:
        problems.append(problem)
    return problems


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
