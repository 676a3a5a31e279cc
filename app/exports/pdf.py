"""The patient chart as a PDF a clinic can send: patient identification on every page, each signed
note with its signature stamp and amendments, the segmental map and the progress chart (reportlab)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from app.assessments.exam_summary import exam_lines
from app.assessments.schemas import AssessmentContent
from app.assessments.summary import SegmentalSummary, summarise
from app.fhir.compartment import PatientRecord
from app.models.clinic import Clinic
from app.models.clinical import ClinicalRevision
from app.outcomes.service import build_progress
from app.reference.catalog import Catalog
from app.treatments.responses import response_lines

STYLES = getSampleStyleSheet()
H1, H2, BODY, SMALL = STYLES["Title"], STYLES["Heading2"], STYLES["BodyText"], STYLES["Italic"]


def _p(text: str, style: Any = BODY) -> Paragraph:
    return Paragraph(escape(text), style)


def _map(cat: Catalog, summary: SegmentalSummary) -> Drawing:
    """The segmental map: levels top to bottom, left and right columns shaded by the signs found."""
    rows: dict[tuple[str, str], Any] = {(r.level, r.side): r for r in summary.levels}
    involved = {(i["level"], i["side"]) for i in summary.involved}
    height = 12 * len(cat.levels) + 20
    d = Drawing(300, height)
    d.add(String(60, height - 10, "Left", fontSize=8))
    d.add(String(215, height - 10, "Right", fontSize=8))
    for i, level in enumerate(cat.levels):
        y = height - 24 - i * 12
        d.add(String(145, y + 2, level.code, fontSize=7))
        for side, x0 in (("left", 40), ("right", 195)):
            r = rows.get((level.code, side))
            for k, (present, colour) in enumerate(((r and r.muscle_shortening.count, colors.firebrick),
                                                   (r and r.tender_points.count, colors.orange),
                                                   (r and r.skin_changes_present, colors.purple))):
                d.add(Rect(x0 + k * 22, y, 20, 9, fillColor=colour if present else colors.whitesmoke,
                           strokeColor=colors.lightgrey, strokeWidth=0.3))
            if (level.code, side) in involved:
                d.add(Rect(x0 - 2, y - 1, 68, 11, fillColor=None, strokeColor=colors.red, strokeWidth=1))
    return d


def _progress(record: PatientRecord) -> Drawing | None:
    pain = [(i, t.content.get("pre_pain_nprs")) for i, t in enumerate(record.treatments)
            if t.status == "signed" and t.content.get("pre_pain_nprs") is not None]
    post = [(i, t.content.get("post_pain_nprs")) for i, t in enumerate(record.treatments)
            if t.status == "signed" and t.content.get("post_pain_nprs") is not None]
    if not pain and not post:
        return None
    d = Drawing(400, 160)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 40, 20, 330, 120
    plot.data = [pain or [(0, 0)], post or [(0, 0)]]
    plot.lines[0].strokeColor, plot.lines[1].strokeColor = colors.firebrick, colors.green
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax = 0, 10
    d.add(plot)
    d.add(String(40, 148, "Session pain (NPRS): red before, green after needling", fontSize=8))
    return d


def _stamp(revisions: Sequence[ClinicalRevision], names: dict[Any, str]) -> list[Flowable]:
    out: list[Flowable] = []
    for r in revisions:
        who = names.get(r.author_id, str(r.author_id))
        if r.kind == "original":
            out.append(_p(f"Signed electronically by {who} on {r.created_at:%Y-%m-%d %H:%M UTC} "
                          f"(content hash {r.content_hash[:16]}...)", SMALL))
        else:
            out.append(_p(f"Amendment {r.revision - 1} by {who} on {r.created_at:%Y-%m-%d %H:%M UTC}: {r.reason}",
                          SMALL))
    return out


def render(record: PatientRecord, clinic: Clinic, cat: Catalog) -> bytes:
    p = record.patient
    ident = f"{p.family_name.upper()}, {p.given_name} - DOB {p.birth_date} - Chart {p.chart_number}"
    names = {u.id: f"{u.full_name}" + (f" (Reg. {u.registration_number})" if u.registration_number else "")
             for u in record.staff}
    revisions: dict[Any, list[ClinicalRevision]] = {}
    for r in record.revisions:
        revisions.setdefault(r.record_id, []).append(r)

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

    story: list[Flowable] = [_p(f"Treatment record: {p.given_name} {p.family_name}", H1)]
    address = ", ".join([*((p.address or {}).get("lines") or []), (p.address or {}).get("city") or ""]).strip(", ")
    story += [_p(f"Date of birth {p.birth_date}; chart {p.chart_number}; phone {p.phone or '-'}; {address}")]
    for e in record.episodes:
        conditions = ", ".join(cat.condition(c).name if cat.condition(c) else c for c in e.conditions)  # type: ignore[union-attr]
        discharged = f", discharged {e.discharged_on}" if e.discharged_on else ""
        story.append(_p(f"Episode: {conditions} ({e.status}{discharged})"))
    for a in record.assessments:
        if a.status != "signed":
            continue
        content = AssessmentContent.model_validate(a.content)
        title = f"Gunn assessment {content.assessed_at:%Y-%m-%d} - {names.get(a.author_id, '')}"
        story += [Spacer(1, 10), _p(title, H2)]
        rows = [["Level", "Side", "Shortened muscles", "Tender points", "Skin changes"]]
        for f in content.findings:
            rows.append([f.level, f.side, ", ".join(m.muscle for m in f.muscle_shortening),
                         ", ".join(t.muscle for t in f.tender_points), ", ".join(f.skin_changes.present())])
        table = Table(rows, repeatRows=1)
        table.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 7), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey)]))
        story += [table, Spacer(1, 4)]
        story.append(_p("Impression: " + ", ".join(f"{s.level} {s.side}" for s in content.impression)))
        if content.plan:
            story.append(_p(f"Plan: {content.plan}"))
        story += [_p(line) for line in exam_lines(content)]  # neuro screen, spondylosis, DN4 ...
        story.append(_map(cat, summarise(cat, content, str(a.id))))
        story += _stamp(revisions.get(a.id, []), names)
    for t in record.treatments:
        if t.status != "signed":
            continue
        c = t.content
        story += [Spacer(1, 10), _p(f"IMS treatment {c['started_at'][:16]} - {names.get(t.author_id, '')}", H2)]
        needles = [[n["muscle"], n["level"], n["side"], str(n.get("insertions", 1)), "yes" if n.get("e_stim") else ""]
                   for n in c.get("needles", [])]
        table = Table([["Muscle", "Level", "Side", "Insertions", "E-stim"], *needles], repeatRows=1)
        table.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 7), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]))
        story += [table, _p(f"Needles inserted {c.get('needles_inserted')}, removed {c.get('needles_removed')}; "
                            f"pain {c.get('pre_pain_nprs')} -> {c.get('post_pain_nprs')}; "
                            f"tolerance {c.get('tolerance')}")]
        for ae in c.get("adverse_events", []):
            story.append(_p(f"Adverse event: {ae['kind']} ({ae['severity']}) - {ae.get('action_taken') or ''}"))
        story += [_p(line) for line in response_lines(c)]  # retests, soreness since the last visit
        story += _stamp(revisions.get(t.id, []), names)
    chart = _progress(record)
    if chart is not None:
        story += [Spacer(1, 12), _p("Progress", H2), chart]
    for e in record.episodes:
        for item in build_progress(e.id, record.treatments, record.outcomes).instruments:
            story.append(_p(f"{item.name}: baseline {item.baseline:g}, latest {item.latest:g}, change {item.change:+g} "
                            f"({'MCID reached' if item.mcid_reached else 'MCID not reached'}, MCID {item.mcid:g})"))
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=LETTER, title=f"Treatment record {p.chart_number}", author=clinic.name,
                      topMargin=0.9 * inch, bottomMargin=0.8 * inch).build(story, onFirstPage=on_page,
                                                                          onLaterPages=on_page)
    return out.getvalue()
