"""The patient chart as a PDF a clinic can send: the legal record, complete and in local time.

Patient and clinic identification on every page; episodes, consents (with withdrawals), precaution screens;
each signed note with its signature stamp and every amendment's before and after (app.exports.pdf_notes);
outcome scores with their meaning, and per episode the progress chart. The segmental map and the progress
chart are the very Drawings the SVG endpoints render, so the printed and on-screen pictures cannot disagree.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.platypus import KeepTogether, SimpleDocTemplate
from reportlab.platypus.flowables import Flowable

from app.exports.pdf_notes import NoteContext, assessment, by_record, human, treatment
from app.exports.pdf_style import H1, H2, H3, SMALL, fit, labelled, nonempty, p, table
from app.kit.localtime import day, stamp
from app.models.base import utcnow
from app.models.clinic import Clinic
from app.models.enums import RecordStatus
from app.models.treatment import PRECAUTIONS
from app.outcomes.instruments import INSTRUMENTS, improvement
from app.outcomes.interpretation import band, change_from_baseline
from app.outcomes.service import PainRow, build_progress
from app.outcomes.svg import drawing as progress_drawing
from app.records.patient import PatientRecord
from app.reference.catalog import Catalog
from app.treatments.schemas import TreatmentOut


def _consents(record: PatientRecord, ctx: NoteContext) -> list[Flowable]:
    rows = [[human(c.kind), stamp(c.obtained_at, ctx.zone), c.method, c.form_version or "-", ctx.who(c.obtained_by),
             ", ".join(human(r) for r in c.risks_discussed) or "-", c.patient_questions or "-",
             f"WITHDRAWN {stamp(c.withdrawn_at, ctx.zone)} by {ctx.who(c.withdrawn_by)}"
             + (f": {c.withdrawal_reason}" if c.withdrawal_reason else "") if c.withdrawn_at else "active"]
            for c in record.consents]
    return [p("Consents", H2), table(["Kind", "Obtained", "Method", "Form", "Obtained by", "Risks discussed",
                                      "Patient's questions", "Status"], rows, [60, 62, 40, 45, 70, 95, 62, 70])
            if rows else p("No consent on file.")]


def _screenings(record: PatientRecord, ctx: NoteContext) -> list[Flowable]:
    rows = []
    for s in record.screenings:
        present = [human(name) for name in PRECAUTIONS if s.checklist.get(name)]
        rows.append([stamp(s.screened_at, ctx.zone), ctx.who(s.screened_by),
                     ", ".join(present) or f"none of the {len(PRECAUTIONS)} precautions",
                     human(s.lymphedema_limb) if s.lymphedema_limb else "-", s.notes or ""])
    return [p("Precaution screenings", H2), table(["Screened", "By", "Precautions present", "Lymphedema limb",
                                                   "Notes"], rows, [70, 90, 170, 64, 110])
            if rows else p("No precaution screening on file.")]


def _visits(record: PatientRecord, ctx: NoteContext) -> list[Flowable]:
    """Every contact, missed and cancelled visits included (the College's record-keeping standard)."""
    rows = []
    for a in record.appointments:
        status = human(a.status)
        if a.cancelled_at:
            status += (f" {stamp(a.cancelled_at, ctx.zone)} by {a.cancelled_by or '-'}"
                       + (" (late)" if a.late_cancellation else "")
                       + (f": {a.cancel_reason}" if a.cancel_reason else ""))
        elif a.no_show_at:
            status += f" (recorded {stamp(a.no_show_at, ctx.zone)})"
        rows.append([stamp(a.start_at, ctx.zone), f"{int((a.end_at - a.start_at).total_seconds() // 60)} min",
                     ctx.who(a.therapist_id), status])
    return [p("Visits", H2), table(["Start", "Length", "Therapist", "Status"], rows, [90, 50, 130, 234])
            if rows else p("No visit booked.")]


def _outcomes(record: PatientRecord, ctx: NoteContext) -> list[Flowable]:
    rows = []
    baselines: dict[tuple[Any, str], float] = {}
    for o in record.outcomes:
        inst = INSTRUMENTS[o.instrument]
        key = (o.episode_id, o.instrument)
        meaning = [x for x in (band(o.instrument, o.score),) if x]
        if key in baselines:
            meaning.append(change_from_baseline(o.instrument, improvement(inst, baselines[key], o.score)))
        else:
            baselines[key] = o.score
            meaning.append("baseline")
        subs = ", ".join(f"{k} {v:g}" for k, v in (o.subscores or {}).items())
        rows.append([stamp(o.administered_at, ctx.zone), inst.name, f"{o.score:g}" + (f" ({subs})" if subs else ""),
                     f"{inst.score_range[0]:g}-{inst.score_range[1]:g}", "; ".join(meaning), ctx.who(o.recorded_by)])
    return [p("Outcome measures", H2), table(["Administered", "Instrument", "Score", "Range", "Interpretation",
                                              "Recorded by"], rows, [66, 100, 60, 40, 168, 70])
            if rows else p("No outcome measure recorded.")]


def _progress(record: PatientRecord, ctx: NoteContext) -> list[Flowable]:
    out: list[Flowable] = []
    signed = [t for t in record.treatments if t.status == RecordStatus.SIGNED]
    for e in record.episodes:
        progress = build_progress(e.id, [PainRow.of(t) for t in signed], record.outcomes)
        if not progress.pain and not progress.instruments:
            continue
        names = ", ".join(ctx.cat.condition(c).name if ctx.cat.condition(c) else c  # type: ignore[union-attr]
                          for c in e.conditions)
        title = f"Progress: {names}"
        out.append(KeepTogether([p(title, H2), fit(progress_drawing(progress, ctx.zone, title))]))
    return out


def render(record: PatientRecord, clinic: Clinic, cat: Catalog, sessions: Mapping[uuid.UUID, TreatmentOut]) -> bytes:
    """`sessions`: each signed treatment as the API returns it (derived needle counts, muscles, billing)."""
    p_ = record.patient
    zone = ZoneInfo(clinic.time_zone)
    ident = f"{p_.family_name.upper()}, {p_.given_name} - DOB {p_.birth_date} - Chart {p_.chart_number}"
    names = {u.id: u.full_name + (f" (Reg. {u.registration_number})" if u.registration_number else "")
             for u in record.staff}
    ctx = NoteContext(cat, zone, names, by_record(record.revisions),
                      f"{p_.family_name.upper()}, {p_.given_name} - chart {p_.chart_number} - born {p_.birth_date}")

    where = clinic.address or {}
    street = ", ".join(x for x in [*(where.get("lines") or []), where.get("city"), where.get("province"),
                                   where.get("postal_code")] if x)
    contact = " - ".join(x for x in (street, f"Tel. {clinic.phone}" if clinic.phone else "", clinic.email) if x)

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawString(0.75 * inch, 10.6 * inch, clinic.name)
        canvas.setFont("Helvetica", 8)
        if contact:
            canvas.drawString(0.75 * inch, 10.45 * inch, contact)
        canvas.drawString(0.75 * inch, 0.5 * inch, ident)
        canvas.drawRightString(7.75 * inch, 0.5 * inch, f"Page {doc.page}  -  confidential health information")
        canvas.restoreState()

    address = ", ".join([*((p_.address or {}).get("lines") or []), (p_.address or {}).get("city") or ""]).strip(", ")
    story: list[Flowable] = [
        p(f"Treatment record: {p_.given_name} {p_.family_name}", H1),
        p(f"Date of birth {p_.birth_date}; chart {p_.chart_number}; phone {p_.phone or '-'}; {address}"),
        p(f"All dates and times are clinic local time ({zone.key}); printed {stamp(utcnow(), zone)}.", SMALL),
        p("Episodes of care", H2)]
    for e in record.episodes:
        conditions = ", ".join(cat.condition(c).name if cat.condition(c) else c for c in e.conditions)  # type: ignore[union-attr]
        story += [p(f"{conditions} ({e.side or 'side not given'}) - {e.status}", H3), *nonempty(
            labelled("Onset", day(e.onset_date, zone) if e.onset_date else None),
            labelled("Referral", e.referral_source), labelled("Goals", "; ".join(e.goals)),
            labelled("Planned frequency", e.planned_frequency), labelled("Opened", stamp(e.created_at, zone)),
            labelled("Discharged", f"{e.discharged_on} ({human(e.discharge_reason)}): {e.discharge_outcome or ''}"
                     if e.discharged_on else None))]
    story += _consents(record, ctx) + _screenings(record, ctx)
    notes: list[tuple[Any, list[Flowable]]] = []
    for a in record.assessments:
        if a.status == RecordStatus.SIGNED:
            notes.append((a.assessed_at, assessment(ctx, a)))
    for t in record.treatments:
        if t.status == RecordStatus.SIGNED and t.id in sessions:
            notes.append((t.started_at, treatment(ctx, sessions[t.id])))
    story.append(p("Clinical notes (signed), oldest first", H2))
    for _, flowables in sorted(notes, key=lambda n: n[0]):
        story += flowables
    statuses = [x.status for x in record.assessments] + [x.status for x in record.treatments]
    drafts, discarded = statuses.count(RecordStatus.DRAFT), statuses.count(RecordStatus.DISCARDED)
    if not notes:
        story.append(p("No signed clinical note."))
    if drafts or discarded:
        story.append(p(f"Not printed: {drafts} unsigned draft note(s) and {discarded} discarded note(s); they are "
                       "not part of the signed record.", SMALL))
    story += _visits(record, ctx) + _outcomes(record, ctx) + _progress(record, ctx)
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=LETTER, title=f"Treatment record {p_.chart_number}", author=clinic.name,
                      leftMargin=0.75 * inch, rightMargin=0.75 * inch, topMargin=0.9 * inch,
                      bottomMargin=0.8 * inch).build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()
