"""Running a FHIR search: Patients and Practitioners in SQL, clinical resources within patient compartments.

Every criterion narrows: an identifier, name or id that matches nothing returns nothing (never everyone).
Pages are keyset pages (`_page` is an opaque cursor of the last row's sort key and id), so a page never
skips or repeats rows when records change between requests.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from app.fhir import codes as c
from app.fhir import mapping
from app.fhir.search_params import DateRange, Query, date_bounds, parse_date, token
from app.kit.errors import SearchError
from app.kit.pagination import PageParams, paginate
from app.models.patient import Patient
from app.models.user import User
from app.patients.identifiers import fold

Resource = mapping.Resource
GENDERS = {"female": "female", "male": "male", "other": "intersex", "unknown": "unknown"}
GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string(column: Any, value: str, modifier: str | None, folded: bool) -> ColumnElement[bool]:
    if modifier == "exact":
        return column == value if not folded else column == fold(value)  # type: ignore[no-any-return]
    term = _like(fold(value) if folded else value.lower())
    target = column if folded else func.lower(column)
    pattern = f"%{term}%" if modifier == "contains" else f"{term}%"
    return target.like(pattern, escape="\\")  # type: ignore[no-any-return]


def _instant(column: Any, r: DateRange) -> ColumnElement[bool]:
    return {"eq": and_(column >= r.lo, column < r.hi), "ne": or_(column < r.lo, column >= r.hi),
            "gt": column >= r.hi, "ge": column >= r.lo, "lt": column < r.lo, "le": column < r.hi}[r.prefix]


def _boolean(raw: str, name: str) -> bool:
    if raw not in ("true", "false"):
        raise SearchError(f"{name}={raw}: expected true or false")
    return raw == "true"


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def _patient_identifier(raw: str) -> ColumnElement[bool]:
    system, value = token(raw)
    chart = Patient.chart_number_norm == fold(value)
    compact = value.replace(" ", "").replace("-", "").upper()
    card = and_(Patient.health_card_number.like(_like(compact) + "%", escape="\\"),
                or_(Patient.health_card_province.is_(None), Patient.health_card_province == "ON")) \
        if len(compact) == 10 else false()
    return {None: or_(chart, card), c.CHART_NUMBER: chart, c.ON_HEALTH_CARD: card}.get(system, false())


def _patient_clause(name: str, modifier: str | None, raw: str, zone: ZoneInfo) -> ColumnElement[bool]:
    if name == "_id":
        pid = _uuid(raw)
        return Patient.id == pid if pid else false()
    if name == "identifier":
        return _patient_identifier(raw)
    if name == "family":
        return _string(Patient.family_name if modifier == "exact" else Patient.family_name_norm, raw, modifier,
                       modifier != "exact")
    if name == "given":
        return or_(_string(Patient.given_name if modifier == "exact" else Patient.given_name_norm, raw, modifier,
                           modifier != "exact"), _string(Patient.preferred_name, raw, modifier, False))
    if name == "name":
        return or_(*(_patient_clause(part, modifier, raw, zone) for part in ("family", "given")))
    if name == "birthdate":
        r = parse_date(raw, zone, name)
        lo, hi = date_bounds(r, zone)
        return _instant(Patient.birth_date, DateRange(r.prefix, lo, hi))  # type: ignore[arg-type]
    if name == "gender":
        system, code = token(raw)
        if system not in (None, GENDER_SYSTEM) or code not in GENDERS:
            raise SearchError(f"gender={raw}: expected male, female, other or unknown")
        return Patient.sex_at_birth == GENDERS[code]
    if name == "active":
        return Patient.active.is_(_boolean(raw, name))
    if name == "_lastUpdated":
        return _instant(Patient.updated_at, parse_date(raw, zone, name))
    raise AssertionError(name)  # pragma: no cover - SPEC and this function list the same names


def _practitioner_clause(name: str, modifier: str | None, raw: str, zone: ZoneInfo) -> ColumnElement[bool]:
    if name == "_id":
        uid = _uuid(raw)
        return User.id == uid if uid else false()
    if name == "identifier":
        system, value = token(raw)
        return User.registration_number == value if system in (None, c.REGISTRATION) else false()
    if name == "name":
        return _string(User.full_name, raw, modifier or "contains", False)
    if name == "active":
        return User.active.is_(_boolean(raw, name))
    if name == "_lastUpdated":
        return _instant(User.updated_at, parse_date(raw, zone, name))
    raise AssertionError(name)  # pragma: no cover


def run_sql(session: Session, q: Query, zone: ZoneInfo) -> tuple[list[Resource], int, str | None]:
    """Patient or Practitioner: (resources of this page, total matches, next cursor)."""
    model: Any = Patient if q.resource_type == "Patient" else User
    clause = _patient_clause if model is Patient else _practitioner_clause
    where = [or_(*(clause(name, modifier, alt, zone) for alt in alts)) for name, modifier, alts in q.criteria]
    stmt = select(model).where(*where)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if q.count == 0 or q.summary_count:
        return [], total, None
    key = {"_lastUpdated": [model.updated_at, model.id], "birthdate": [model.birth_date, model.id] if model is Patient
           else [model.id]}.get(q.sort or "_id", [model.id])
    rows, cursor = paginate(session, stmt, key, PageParams(q.count, q.page), descending=q.descending)
    convert: Callable[[Any], Resource] = mapping.patient if model is Patient else mapping.practitioner
    return [convert(r) for r in rows], total, cursor


# Clinical resources, within one patient's compartment ------------------------------------------------------

def _period(r: Resource) -> tuple[datetime, datetime] | None:
    raw = r.get("effectiveDateTime") or r.get("dateTime")
    period = r.get("performedPeriod") or r.get("period")
    if raw:
        start = end = datetime.fromisoformat(raw)
    elif period:
        start = datetime.fromisoformat(period["start"])
        end = datetime.fromisoformat(period["end"]) if period.get("end") else start
    elif r.get("start"):  # Appointment
        start = datetime.fromisoformat(r["start"])
        end = datetime.fromisoformat(r["end"]) if r.get("end") else start
    else:
        return None
    return start, end


def _updated(r: Resource) -> datetime:
    return datetime.fromisoformat(r.get("meta", {}).get("lastUpdated") or r["recorded"])


def _codes(concept: dict[str, Any] | None) -> list[tuple[str, str]]:
    return [(x.get("system", ""), x.get("code", "")) for x in (concept or {}).get("coding", [])]


def _token_match(pairs: list[tuple[str, str]], raw: str) -> bool:
    system, code = token(raw)
    return any(code == have_code and (system is None or system == have_system) for have_system, have_code in pairs)


def _matches(r: Resource, name: str, raw: str, patient_ids: set[str], zone: ZoneInfo) -> bool:
    if name == "_id":
        return bool(r["id"] == raw)
    if name in ("patient", "subject"):
        return raw.removeprefix("Patient/") in patient_ids
    if name == "_lastUpdated":
        return parse_date(raw, zone, name).matches(_updated(r))
    if name == "date":
        span = _period(r)
        return span is not None and parse_date(raw, zone, name).matches(*span)
    if name == "code":
        return _token_match(_codes(r.get("code")), raw)
    if name == "status":
        return _token_match([("", r.get("status", ""))], token(raw)[1])
    if name == "clinical-status":
        return _token_match(_codes(r.get("clinicalStatus")), raw)
    if name == "encounter":
        return bool((r.get("encounter") or {}).get("reference") == f"Encounter/{raw.removeprefix('Encounter/')}")
    raise AssertionError(name)  # pragma: no cover


def _sort_value(r: Resource, sort: str | None) -> str:
    if sort == "_lastUpdated":
        return _updated(r).isoformat()
    if sort == "date":
        span = _period(r)
        return span[0].isoformat() if span else ""
    return ""


def _cursor(values: Sequence[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def _after(cursor: str) -> tuple[str, str]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(v, str) for v in raw)):
            raise ValueError
        return raw[0], raw[1]
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise SearchError("_page: invalid cursor; follow the Bundle's next link") from exc


def patient_ids(q: Query) -> list[uuid.UUID]:
    """The compartments a clinical search is confined to: `patient`/`subject` is required, so a clinical search
    never spans the whole clinic. Several values (comma, or repeats) narrow to the patients named in all."""
    wanted: set[uuid.UUID] | None = None
    for name in ("patient", "subject"):
        for _, alts in q.values(name):
            ids = {u for u in (_uuid(a.removeprefix("Patient/")) for a in alts) if u}
            wanted = ids if wanted is None else wanted & ids
    if wanted is None:
        raise SearchError(f"searching {q.resource_type} needs patient=<id> (or subject=Patient/<id>)")
    return sorted(wanted)


def run_compartment(q: Query, resources: list[Resource], zone: ZoneInfo) -> tuple[list[Resource], int, str | None]:
    """Filter, sort and page one or more compartments' resources of the searched type."""
    ids = {str(u) for u in patient_ids(q)}
    found = [r for r in resources if r["resourceType"] == q.resource_type
             and all(any(_matches(r, name, alt, ids, zone) for alt in alts) for name, _, alts in q.criteria)]
    found.sort(key=lambda r: (_sort_value(r, q.sort), r["id"]), reverse=q.descending)
    if q.count == 0 or q.summary_count:
        return [], len(found), None
    if q.page:
        after = _after(q.page)
        found_after = [r for r in found if ((_sort_value(r, q.sort), r["id"]) < after if q.descending
                                            else (_sort_value(r, q.sort), r["id"]) > after)]
    else:
        found_after = found
    chunk = found_after[:q.count]
    nxt = _cursor([_sort_value(chunk[-1], q.sort), chunk[-1]["id"]]) if len(found_after) > q.count else None
    return chunk, len(found), nxt
