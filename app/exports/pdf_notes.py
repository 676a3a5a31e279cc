"""The signed clinical notes of the PDF chart: Gunn assessments and IMS sessions, each with its signature and
every amendment spelled out as what changed (old -> new), not only why.

Muscles print by name with their side and level; every time is clinic-local and labelled (app.kit.localtime);
needle counts are the derived values the API returns (TreatmentOut), never the raw stored fields.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.platypus import KeepTogether, Spacer
from reportlab.platypus.flowables import Flowable

from app.assessments.exam_summary import exam_lines
from app.assessments.schemas import AssessmentContent, RedFlags
from app.assessments.summary import summarise
from app.assessments.svg import Caption
from app.assessments.svg import drawing as segmental_map
from app.exports.pdf_style import H2, H3, SMALL, fit, labelled, nonempty, p, table, value
from app.kit.localtime import day, stamp
from app.models.clinical import Assessment, ClinicalRevision
from app.models.enums import RevisionKind
from app.reference.catalog import Catalog
from app.treatments.responses import response_lines
from app.treatments.schemas import TreatmentOut

RED_FLAGS = tuple(name for name in RedFlags.model_fields if name != "notes")


@dataclass(frozen=True)
class NoteContext:
    cat: Catalog
    zone: ZoneInfo
    names: dict[uuid.UUID, str]  # staff id -> "Full Name (Reg. X)"
    revisions: dict[uuid.UUID, list[ClinicalRevision]]  # record id -> its revisions in order
    patient_label: str

    def who(self, user_id: uuid.UUID | None) -> str:
        return "-" if user_id is None else self.names.get(user_id, str(user_id))

    def muscle(self, code: str) -> str:
        found = self.cat.muscle(code)
        return found.name if found else code


def human(code: str | None) -> str:
    return "-" if not code else code.replace("_", " ")


def changes(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Leaf-level differences between two versions of a note's content, as (field path, old, new)."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(dict.fromkeys([*new, *old]))
        return [c for k in keys for c in changes(old.get(k), new.get(k), f"{path}.{k}" if path else k)]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new) and old != new \
            and any(isinstance(x, dict) for x in old):
        return [c for i, (a, b) in enumerate(zip(old, new, strict=True)) for c in changes(a, b, f"{path}[{i + 1}]")]
    return [] if old == new else [(path, old, new)]


def signatures(ctx: NoteContext, record_id: uuid.UUID) -> list[Flowable]:
    """The signature stamp, then each amendment: who, when (local), why, and every field it changed."""
    out: list[Flowable] = []
    previous: ClinicalRevision | None = None
    for r in ctx.revisions.get(record_id, []):
        if r.kind == RevisionKind.ORIGINAL:
            out.append(p(f"Signed electronically by {ctx.who(r.author_id)} on {stamp(r.created_at, ctx.zone)} "
                         f"(content hash {r.content_hash[:16]}...)", SMALL))
        else:
            out.append(p(f"Amendment {r.revision - 1} by {ctx.who(r.author_id)} on {stamp(r.created_at, ctx.zone)}: "
                         f"{r.reason}", SMALL))
            diff = changes(previous.content, r.content) if previous is not None else []
            out += [p(f"    {field}: {value(old)} -> {value(new)}", SMALL) for field, old, new in diff] or \
                [p("    (no field changed)", SMALL)]
        previous = r
    return out


def _flag(v: bool | None) -> str:
    return "not asked" if v is None else "YES" if v else "no"


def assessment(ctx: NoteContext, a: Assessment) -> list[Flowable]:
    c = AssessmentContent.model_validate(a.content)
    s = c.subjective
    out: list[Flowable] = [p(f"Gunn assessment {stamp(c.assessed_at, ctx.zone)} - {ctx.who(a.author_id)}", H2)]
    out += [p("Subjective history", H3), *nonempty(
        labelled("Chief complaint", s.chief_complaint), labelled("History", s.history),
        labelled("Pain locations", ", ".join(s.pain_locations)),
        labelled("Aggravating factors", ", ".join(s.aggravating_factors)),
        labelled("Easing factors", ", ".join(s.easing_factors)))]
    flags = "; ".join(f"{human(name)}: {_flag(getattr(s.red_flags, name))}" for name in RED_FLAGS)
    out += [p("Red-flag screen", H3), p(flags), *nonempty(labelled("Red-flag notes", s.red_flags.notes))]
    out += nonempty(labelled("Imaging", c.imaging_notes))
    rows = []
    for f in c.findings:
        shortened = "; ".join(f"{ctx.muscle(m.muscle)} ({f.side} {f.level}"
                              + (f", severity {m.severity}" if m.severity is not None else "") + ")"
                              + (f" {m.notes}" if m.notes else "") for m in f.muscle_shortening)
        tender = "; ".join(f"{ctx.muscle(t.muscle)} ({f.side} {f.level}"
                           + (f", severity {t.severity}" if t.severity is not None else "")
                           + (", at motor point" if t.motor_point else "")
                           + (f", PPT {t.algometry_kg_cm2:g} kg/cm2" if t.algometry_kg_cm2 is not None else "") + ")"
                           for t in f.tender_points)
        paraspinal = ", ".join(x for x, on in (("shortening", f.paraspinal_shortening),
                                               ("tenderness", f.paraspinal_tenderness)) if on)
        rom = "; ".join(f"{r.movement} " + (f"{r.degrees:g} deg" if r.degrees is not None else "")
                        + (f" {r.percent_of_normal:g}% of normal" if r.percent_of_normal is not None else "")
                        for r in f.rom)
        rows.append([f.level, f.side, shortened or "-", tender or "-",
                     ", ".join(human(x) for x in f.skin_changes.present()) or "-", paraspinal or "-", rom or "-",
                     " ".join(x for x in (f.skin_changes.notes, f.notes) if x) or ""])
    out += [p("Segmental findings", H3),
            table(["Level", "Side", "Shortened muscles", "Tender points", "Skin changes", "Paraspinal",
                   "Range of motion", "Notes"], rows, [30, 40, 95, 95, 60, 50, 70, 64])
            if rows else p("No findings recorded.")]
    out += nonempty(labelled("Impression (involved segments)", ", ".join(f"{x.level} {x.side}" for x in c.impression)
                             or "none"), labelled("Plan", c.plan))
    out += [p(line) for line in exam_lines(c)]  # neuro screen, tension tests, spondylosis, trophic signs, DN4
    caption = Caption(ctx.patient_label, stamp(c.assessed_at, ctx.zone), a.status)
    out.append(KeepTogether([p("Segmental map", H3), fit(segmental_map(ctx.cat, summarise(ctx.cat, c, str(a.id)),
                                                                       caption))]))
    return [*out, *signatures(ctx, a.id), Spacer(1, 6)]


def _needle_rows(ctx: NoteContext, t: TreatmentOut) -> tuple[list[list[str]], list[list[str]]]:
    needles, stim = [], []
    for n in t.needles:
        size = " x ".join(f"{v:g}" for v in (n.gauge_mm, n.length_mm) if v is not None)
        needles.append([ctx.muscle(n.muscle), n.side, n.level, n.kind or "-", f"{size} mm" if size else "-",
                        n.lot_number or "-", str(n.insertions), f"{n.depth_mm:g} mm" if n.depth_mm else "-",
                        n.technique or "-", ", ".join(human(r) for r in n.responses) or "-", n.notes or ""])
        if n.e_stim:
            e = n.e_stim
            stim.append([f"{ctx.muscle(n.muscle)} ({n.side} {n.level})", e.device or "-", e.waveform or "-",
                         f"{e.frequency_hz:g}", f"{e.pulse_width_us:g}", f"{e.intensity_ma:g}", f"{e.duration_min:g}"])
    return needles, stim


def treatment(ctx: NoteContext, t: TreatmentOut) -> list[Flowable]:
    out: list[Flowable] = [p(f"IMS treatment {stamp(t.started_at, ctx.zone)} - {ctx.who(t.author_id)}", H2)]
    out += nonempty(labelled("Session", f"started {stamp(t.started_at, ctx.zone)}, ended {stamp(t.ended_at, ctx.zone)}"
                                        f"; position {t.position or '-'}"))
    needles, stim = _needle_rows(ctx, t)
    out += [p("Needles", H3), table(["Muscle", "Side", "Level", "Kind", "Gauge x length", "Lot", "Insertions",
                                     "Depth", "Technique", "Responses", "Notes"], needles,
                                    [76, 28, 32, 46, 48, 44, 48, 34, 46, 56, 42]) if needles else p("No needles.")]
    if stim:
        out += [p("Electrical stimulation", H3),
                table(["Needle", "Device", "Waveform", "Frequency (Hz)", "Pulse width (us)", "Intensity (mA)",
                       "Duration (min)"], stim, [130, 70, 60, 60, 62, 60, 60])]
    counts = (f"Needles inserted {t.needles_inserted}, removed "
              f"{t.needles_removed if t.needles_removed is not None else 'not counted'}; total insertions "
              f"{t.total_insertions}; muscles needled {len(t.muscles_needled)}"
              + (f" (CPT {t.billing_cpt})" if t.billing_cpt else ""))
    out += [p("Needle count and safety", H3), p(counts), *nonempty(
        labelled("Sharps disposed", None if t.sharps_disposed is None else "yes" if t.sharps_disposed else "no"),
        labelled("Pain (NPRS 0-10)", f"before needling {_n(t.pre_pain_nprs)}, after {_n(t.post_pain_nprs)}"),
        labelled("Tolerance", " - ".join(x for x in (t.tolerance, t.tolerance_notes) if x) or None))]
    if t.adverse_events:
        out += [p("Adverse events", H3), table(["Event", "Severity", "Action taken", "Follow-up", "Notes"],
                                               [[human(e.kind), e.severity, e.action_taken or "-", e.follow_up or "-",
                                                 e.notes or ""] for e in t.adverse_events], [90, 55, 130, 130, 99])]
    else:
        out.append(labelled("Adverse events", "none recorded"))  # type: ignore[arg-type]
    out += nonempty(labelled("Retest", t.retest), labelled("After-care", t.after_care), labelled("Plan", t.plan),
                    labelled("Next visit", day(t.next_visit, ctx.zone) if t.next_visit else None))
    out += [p(line) for line in response_lines(t.model_dump(mode="json"))]  # retests, soreness since last visit
    return [*out, *signatures(ctx, t.id), Spacer(1, 6)]


def _n(v: int | None) -> str:
    return "-" if v is None else str(v)


def by_record(revisions: Sequence[ClinicalRevision]) -> dict[uuid.UUID, list[ClinicalRevision]]:
    out: dict[uuid.UUID, list[ClinicalRevision]] = {}
    for r in sorted(revisions, key=lambda r: (str(r.record_id), r.revision)):
        out.setdefault(r.record_id, []).append(r)
    return out
