"""Patient rules: chart numbers, validated health cards, search keys, deactivation instead of deletion."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.clinic import service as clinic
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import Conflict, field_error
from app.kit.etag import check_version
from app.kit.events import EventType, announce
from app.kit.pagination import PageParams, paginate
from app.kit.patch import changes_of
from app.kit.repository import get_or_404
from app.models.base import utcnow
from app.models.patient import Counter, Patient
from app.patients.identifiers import fold, normalise_health_card, phone_digits
from app.patients.schemas import PatientCreate, PatientUpdate

CHART_COUNTER = "chart_number"
_MAX_CHAR = "\U0010ffff"  # sorts after every character in UTF-8 byte order
_PHONE_QUERY = re.compile(r"[0-9+()\-.\s]+")
_REQUIRED = ("given_name", "family_name", "birth_date", "chart_number", "reminder_consent")


def get(session: Session, patient_id: uuid.UUID) -> Patient:
    return get_or_404(session, Patient, patient_id, "patient")


def read(session: Session, actor: Actor, patient_id: uuid.UUID) -> Patient:
    patient = get(session, patient_id)
    audit.record(session, actor, "read", resource_type="Patient", resource_id=patient.id,
                 patient_id=patient.id, resource_version=patient.version)
    return patient


def check_new(data: PatientCreate, today: date) -> dict[str, Any]:
    """The rules beyond the schema (birth date range, health card check digit), without touching the
    database: the column values to store, or a 422 naming the field. `today` is the clinic's date."""
    values = data.model_dump(exclude_none=True, mode="json")
    values["birth_date"] = data.birth_date
    _check_birth_date(data.birth_date, today)
    _apply_health_card(values, data.health_card_number, data.health_card_province)
    return values


def create(session: Session, actor: Actor, data: PatientCreate) -> Patient:
    values = check_new(data, clinic.today(session))
    if data.chart_number:
        _ensure_chart_number_free(session, data.chart_number)
    else:
        values["chart_number"] = _next_chart_number(session)
    patient = Patient(**values, active=True)
    _stamp_consent(patient, bool(data.reminder_consent))
    _refresh_search_keys(patient)
    session.add(patient)
    _flush_unique(session, patient.chart_number)
    audit.record(session, actor, "create", resource_type="Patient", resource_id=patient.id,
                 patient_id=patient.id, resource_version=patient.version)
    announce(session, EventType.PATIENT_CREATED, patient)
    return patient


def update_patient(session: Session, actor: Actor, patient: Patient, data: PatientUpdate,
                   expected_version: int) -> Patient:
    check_version(patient.version, expected_version)
    changes = changes_of(data, _REQUIRED, mode="json", message="is required and may not be null")
    if "birth_date" in changes:
        changes["birth_date"] = data.birth_date
        _check_birth_date(data.birth_date, clinic.today(session))
    if "health_card_number" in changes or "health_card_province" in changes:
        number = changes.get("health_card_number", patient.health_card_number)
        province = changes.get("health_card_province", patient.health_card_province)
        _apply_health_card(changes, number, province)
    if "chart_number" in changes and fold(changes["chart_number"]) != patient.chart_number_norm:
        _ensure_chart_number_free(session, changes["chart_number"])
    consent = changes.pop("reminder_consent", patient.reminder_consent)
    for name, value in changes.items():
        setattr(patient, name, value)
    if consent != patient.reminder_consent:
        _stamp_consent(patient, consent)
        changes["reminder_consent"] = consent
    _refresh_search_keys(patient)
    _flush_unique(session, patient.chart_number)
    audit.record(session, actor, "update", resource_type="Patient", resource_id=patient.id,
                 patient_id=patient.id, resource_version=patient.version, detail={"fields": sorted(changes)})
    announce(session, EventType.PATIENT_UPDATED, patient)
    return patient


def deactivate(session: Session, actor: Actor, patient: Patient) -> Patient:
    """Idempotent. A repeat is audited as the deactivation attempt it is (marked `already_inactive`: who
    asked, and that nothing changed); only a real change is announced, so integrators hear it once."""
    repeat = not patient.active
    if not repeat:
        patient.active = False
        patient.deactivated_at = utcnow()
        session.flush()
    audit.record(session, actor, "deactivate", resource_type="Patient", resource_id=patient.id,
                 patient_id=patient.id, resource_version=patient.version,
                 detail={"already_inactive": True} if repeat else None)
    if not repeat:
        announce(session, EventType.PATIENT_DEACTIVATED, patient)
    return patient


def search(session: Session, actor: Actor, params: PageParams, *, q: str | None, birth_date: date | None,
           active: bool | None) -> tuple[list[Patient], str | None]:
    """Prefix match on family or given name, chart number or phone digits; alphabetical pages."""
    stmt = select(Patient)
    if q:
        term = fold(q)
        conditions = [_prefix(Patient.family_name_norm, term), _prefix(Patient.given_name_norm, term),
                      _prefix(Patient.chart_number_norm, term)]
        digits = phone_digits(q)
        if digits and len(digits) >= 3 and _PHONE_QUERY.fullmatch(q):
            conditions.append(_prefix(Patient.phone_digits, digits))
        stmt = stmt.where(or_(*conditions))
    if birth_date:
        stmt = stmt.where(Patient.birth_date == birth_date)
    if active is not None:
        stmt = stmt.where(Patient.active.is_(active))
    rows, cursor = paginate(session, stmt, [Patient.family_name_norm, Patient.given_name_norm, Patient.id], params)
    audit.record(session, actor, "search", resource_type="Patient",
                 detail={"q": q, "birth_date": birth_date.isoformat() if birth_date else None, "active": active,
                         "result_ids": [str(p.id) for p in rows]})
    return rows, cursor


def _prefix(column: Any, term: str) -> Any:
    """`column` starts with `term`, as a range both engines answer from a btree index (binary/"C" order);
    LIKE with an ESCAPE clause cannot use SQLite's indexes."""
    return and_(column >= term, column < term + _MAX_CHAR)


def _flush_unique(session: Session, chart_number: str) -> None:
    """A concurrent registration can take the chart number between our check and our write."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"Chart number {chart_number} is already in use") from None


def _check_birth_date(value: date | None, today: date) -> None:
    if value is not None and (value > today or value.year < 1900):
        raise field_error("birth_date", "must be a date between 1900-01-01 and today")


def _apply_health_card(values: dict[str, Any], number: str | None, province: str | None) -> None:
    if not number:
        values["health_card_number"] = None
        values["health_card_province"] = province
        return
    province = province or "ON"
    try:
        values["health_card_number"] = normalise_health_card(number, province)
    except ValueError as exc:
        raise field_error("health_card_number", str(exc)) from exc
    values["health_card_province"] = province


def _stamp_consent(patient: Patient, consent: bool) -> None:
    """When consent turns on the server records the moment (the clinic's proof); withdrawing clears it."""
    patient.reminder_consent = consent
    patient.reminder_consent_at = utcnow() if consent else None


def _refresh_search_keys(patient: Patient) -> None:
    patient.family_name_norm = fold(patient.family_name)
    patient.given_name_norm = fold(patient.given_name)
    patient.chart_number_norm = fold(patient.chart_number)
    patient.phone_digits = phone_digits(patient.phone)


def _ensure_chart_number_free(session: Session, chart_number: str) -> None:
    clash = session.scalar(select(Patient.id).where(Patient.chart_number_norm == fold(chart_number)))
    if clash is not None:
        raise Conflict(f"Chart number {chart_number} is already in use")


def _next_chart_number(session: Session) -> str:
    """Sequential numbers from a locked counter row; skips any number a clinic entered by hand."""
    while True:
        value = session.execute(
            update(Counter).where(Counter.name == CHART_COUNTER).values(value=Counter.value + 1)
            .returning(Counter.value)
        ).scalar_one()
        candidate = f"{value:06d}"
        if session.scalar(select(Patient.id).where(Patient.chart_number_norm == candidate)) is None:
            return candidate


_CHUNK = 500  # bound the IN lists: SQLite and PostgreSQL both cope, and no statement grows with the file


def person_key(given_name: str, family_name: str, birth_date: date) -> tuple[str, str, date]:
    """Same person (for duplicate checks): folded names and the birth date."""
    return fold(given_name), fold(family_name), birth_date


def by_chart_numbers(session: Session, chart_numbers: list[str]) -> dict[str, Patient]:
    """Existing patients keyed by folded chart number."""
    keys = sorted({fold(n) for n in chart_numbers})
    found: dict[str, Patient] = {}
    for start in range(0, len(keys), _CHUNK):
        rows = session.scalars(select(Patient).where(Patient.chart_number_norm.in_(keys[start:start + _CHUNK])))
        found.update({p.chart_number_norm: p for p in rows})
    return found


def by_people(session: Session, birth_dates: list[date]) -> dict[tuple[str, str, date], Patient]:
    """Existing patients born on any of these dates, keyed by `person_key` (indexed on birth date)."""
    days = sorted(set(birth_dates))
    found: dict[tuple[str, str, date], Patient] = {}
    for start in range(0, len(days), _CHUNK):
        rows = session.scalars(select(Patient).where(Patient.birth_date.in_(days[start:start + _CHUNK])))
        for p in rows:
            found.setdefault((p.given_name_norm, p.family_name_norm, p.birth_date), p)
    return found
