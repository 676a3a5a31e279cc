"""Patient import: every row checked by the same rules as `POST /api/v1/patients`, duplicates found
against the chart and within the file, and a real run that creates all of its rows or none."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.clinic import service as clinic
from app.imports.schemas import DuplicateOf, ImportReport, ImportRow
from app.imports.sources import Candidate, DateOrder, UnreadableFile, decode, read_csv, read_fhir
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import FieldError, Unprocessable, field_error, loc_to_field
from app.patients import service as patients
from app.patients.identifiers import fold
from app.patients.schemas import PatientCreate

MAX_ROWS = 20_000
Format = Literal["csv", "fhir"]
OnDuplicate = Literal["skip", "fail"]


@dataclass(frozen=True)
class Upload:
    filename: str | None
    content_type: str | None
    content: bytes


def import_patients(session: Session, actor: Actor, upload: Upload, *, dry_run: bool,
                    date_order: DateOrder | None, on_duplicate: OnDuplicate) -> ImportReport:
    fmt = detect_format(upload)
    text = decode(upload.content)
    try:
        candidates, ignored = read_csv(text, date_order) if fmt == "csv" else read_fhir(text)
    except UnreadableFile as exc:
        raise field_error("file", str(exc)) from None
    if not candidates:
        raise field_error("file", "contains no patients")
    if len(candidates) > MAX_ROWS:
        raise field_error("file", f"has {len(candidates)} patients; import at most {MAX_ROWS} per file")

    today = clinic.today(session)
    rows = [_check(c, today) for c in candidates]
    _mark_duplicates(session, rows)
    report = ImportReport(
        dry_run=dry_run, format=fmt, sha256=hashlib.sha256(upload.content).hexdigest(), total=len(rows),
        accepted=sum(r.status == "accepted" for r, _ in rows), created=0,
        duplicates=sum(r.status == "duplicate" for r, _ in rows), invalid=sum(r.status == "invalid" for r, _ in rows),
        ignored_columns=ignored if fmt == "csv" else [], ignored_resources=ignored if fmt == "fhir" else [],
        rows=[r for r, _ in rows])
    detail = {"filename": upload.filename, "format": fmt, "sha256": report.sha256, "dry_run": dry_run,
              "total": report.total, "accepted": report.accepted, "duplicates": report.duplicates,
              "invalid": report.invalid,
              "duplicate_patient_ids": sorted({str(r.duplicate_of.patient_id) for r, _ in rows
                                               if r.duplicate_of and r.duplicate_of.patient_id})}

    if not dry_run:
        refused = [r for r, _ in rows if r.status == "invalid" or (on_duplicate == "fail" and r.status == "duplicate")]
        if refused:
            raise _refusal(refused)
        # Rows that bring their own chart number first, so a generated number never takes one the file uses.
        for row, data in sorted(rows, key=lambda pair: pair[1] is None or pair[1].chart_number is None):
            if row.status != "accepted" or data is None:
                continue
            patient = patients.create(session, actor, data)
            row.status, row.patient_id, row.chart_number = "created", patient.id, patient.chart_number
        report.created = sum(r.status == "created" for r, _ in rows)
        detail["created"] = report.created
    audit.record(session, actor, "import", resource_type="PatientImport", detail=detail)
    return report


def detect_format(upload: Upload) -> Format:
    name = (upload.filename or "").lower()
    kind = (upload.content_type or "").lower()
    if name.endswith((".json", ".ndjson")) or "json" in kind:
        return "fhir"
    if name.endswith((".csv", ".txt", ".tsv")) or "csv" in kind or kind.startswith("text/"):
        return "csv"
    return "fhir" if upload.content.lstrip()[:1] == b"{" else "csv"


def _check(candidate: Candidate, today: date) -> tuple[ImportRow, PatientCreate | None]:
    body = candidate.body
    row = ImportRow(row=candidate.index, source=candidate.source, status="accepted",
                    given_name=body.get("given_name"), family_name=body.get("family_name"),
                    chart_number=body.get("chart_number"), errors=list(candidate.errors))
    data: PatientCreate | None = None
    failed_fields = {e.field for e in row.errors}
    try:
        data = PatientCreate.model_validate({k: v for k, v in body.items() if k not in failed_fields})
    except ValidationError as exc:
        row.errors += [FieldError(field=loc_to_field(e["loc"]), message=_message(e)) for e in exc.errors()
                       if loc_to_field(e["loc"]) not in failed_fields]  # already said why it is unreadable
    if data is not None and not row.errors:
        try:
            patients.check_new(data, today)
        except Unprocessable as exc:
            row.errors += exc.errors or [FieldError(field="row", message=exc.detail or "invalid")]
    if data is not None:
        row.birth_date = data.birth_date
    if row.errors:
        row.status, data = "invalid", None
    return row, data


def _message(error: object) -> str:
    info = error if isinstance(error, dict) else {}
    if info.get("type") == "missing":
        return "is required (no column or value for it)"
    return str(info.get("msg", "invalid"))


def _mark_duplicates(session: Session, rows: list[tuple[ImportRow, PatientCreate | None]]) -> None:
    """Chart number or name + birth date already on file, or earlier in this same file."""
    valid = [(row, data) for row, data in rows if data is not None]
    charts = patients.by_chart_numbers(session, [d.chart_number for _, d in valid if d.chart_number])
    people = patients.by_people(session, [d.birth_date for _, d in valid])
    seen_charts: dict[str, int] = {}
    seen_people: dict[tuple[str, str, date], int] = {}
    for row, data in valid:
        chart = fold(data.chart_number) if data.chart_number else None
        person = patients.person_key(data.given_name, data.family_name, data.birth_date)
        if chart and chart in charts:
            row.duplicate_of = DuplicateOf(reason="chart_number", patient_id=charts[chart].id)
        elif person in people:
            row.duplicate_of = DuplicateOf(reason="name_and_birth_date", patient_id=people[person].id)
        elif chart and chart in seen_charts:
            row.duplicate_of = DuplicateOf(reason="chart_number", row=seen_charts[chart])
        elif person in seen_people:
            row.duplicate_of = DuplicateOf(reason="name_and_birth_date", row=seen_people[person])
        if row.duplicate_of is not None:
            row.status = "duplicate"
            continue
        if chart:
            seen_charts[chart] = row.row
        seen_people[person] = row.row


def _refusal(refused: list[ImportRow]) -> Unprocessable:
    errors: list[FieldError] = []
    for row in refused:
        if row.status == "duplicate" and row.duplicate_of:
            where = (f"patient {row.duplicate_of.patient_id}" if row.duplicate_of.patient_id
                     else f"row {row.duplicate_of.row} of this file")
            errors.append(FieldError(field=f"rows[{row.row}]",
                                     message=f"{row.source}: duplicate ({row.duplicate_of.reason}) of {where}"))
        errors += [FieldError(field=f"rows[{row.row}].{e.field}", message=f"{row.source}: {e.message}")
                   for e in row.errors]
    return Unprocessable(f"Nothing was imported: {len(refused)} of the file's rows cannot be imported "
                         "(run with dry_run=true for the full per-row report)", errors=errors)
