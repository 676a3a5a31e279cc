"""Read an uploaded file (CSV from practice software, or a FHIR Bundle of Patients) into candidate rows.

Each row becomes the JSON body `POST /api/v1/patients` would take, so one set of validation rules
applies to both. Values are cleaned up the way a person re-typing them would (dates in the usual
layouts, `M`/`F`), but an ambiguous birth date such as 03/04/1970 is never guessed: it is refused
unless the caller says which order the file uses.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from app.fhir import codes
from app.imports.columns import match_headers
from app.kit.errors import FieldError

DateOrder = Literal["DMY", "MDY"]


@dataclass
class Candidate:
    """One patient to import: where it came from, the body it maps to, and any problems reading it."""

    index: int
    source: str  # "line 7" or "entry[3]"
    body: dict[str, Any]
    errors: list[FieldError] = field(default_factory=list)


class UnreadableFile(ValueError):
    """The upload as a whole cannot be read (not CSV, not JSON, no header, ...)."""


# --- CSV ---------------------------------------------------------------------------------------------------


def decode(raw: bytes) -> str:
    """UTF-8 (with or without the BOM spreadsheets add), else Windows-1252 as older systems export."""
    try:
        return raw.decode("utf-8-sig").replace("\x00", "")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace").replace("\x00", "")


def read_csv(text: str, date_order: DateOrder | None) -> tuple[list[Candidate], list[str]]:
    """Candidates and the headers that matched no patient field (reported, not fatal)."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    headers = next(reader, None)
    if not headers or not any(h.strip() for h in headers):
        raise UnreadableFile("the CSV has no header row")
    columns, unmatched = match_headers(headers)
    missing = [f for f in ("given_name", "family_name", "birth_date") if f not in columns]
    if missing:
        raise UnreadableFile(f"the CSV has no column for {', '.join(missing)} (headers found: {', '.join(headers)})")

    candidates: list[Candidate] = []
    line = reader.line_num
    for cells in reader:
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: _first_value(cells, positions) for name, positions in columns.items()}
        candidate = Candidate(len(candidates), f"line {start}", {})
        candidate.body = _body_from_columns(values, candidate, date_order)
        _contact_from_columns(values, candidate, {name: headers[_first_position(cells, positions)]
                                                  for name, positions in columns.items()})
        candidates.append(candidate)
    return candidates, unmatched


def _first_position(cells: list[str], positions: list[int]) -> int:
    """The column `_first_value` reads (the best synonym when all are empty), to name it in an error."""
    return next((p for p in positions if p < len(cells) and cells[p].strip()), positions[0])


def _first_value(cells: list[str], positions: list[int]) -> str | None:
    for position in positions:
        if position < len(cells) and cells[position].strip():
            return cells[position].strip()
    return None


_SEX = {"f": "female", "female": "female", "woman": "female", "w": "female",
        "m": "male", "male": "male", "man": "male",
        "x": "intersex", "i": "intersex", "intersex": "intersex", "other": "intersex",
        "u": "unknown", "unknown": "unknown", "undisclosed": "unknown", "not_stated": "unknown"}


def _body_from_columns(v: dict[str, str | None], candidate: Candidate, order: DateOrder | None) -> dict[str, Any]:
    body: dict[str, Any] = {k: v.get(k) for k in ("chart_number", "given_name", "family_name", "preferred_name",
                                                  "gender_identity", "phone", "email", "notes")}
    if v.get("birth_date"):
        try:
            body["birth_date"] = parse_date(v["birth_date"] or "", order).isoformat()
        except ValueError as exc:
            candidate.errors.append(FieldError(field="birth_date", message=str(exc)))
    if v.get("sex_at_birth"):
        sex = _SEX.get(re.sub(r"[^a-z]+", "_", (v["sex_at_birth"] or "").lower()).strip("_"))
        if sex is None:
            candidate.errors.append(FieldError(field="sex_at_birth",
                                               message=f"{v['sex_at_birth']!r} is not one of F, M, X, U"))
        body["sex_at_birth"] = sex
    card = v.get("health_card_number")
    if card:
        body["health_card_number"] = card + (v.get("health_card_version") or "")
        body["health_card_province"] = (v.get("health_card_province") or "").upper() or None
    lines = [line for line in (v.get("address_line1"), v.get("address_line2")) if line]
    if lines or any(v.get(k) for k in ("city", "province", "postal_code")):
        body["address"] = {"lines": lines, "city": v.get("city"), "province": (v.get("province") or "").upper() or None,
                           "postal_code": v.get("postal_code"), **({"country": v["country"]} if v.get("country")
                                                                  else {})}
    if v.get("emergency_contact_name"):
        body["emergency_contact"] = {"name": v["emergency_contact_name"],
                                     "relationship": v.get("emergency_contact_relationship"),
                                     "phone": v.get("emergency_contact_phone")}
    if v.get("referring_physician_name"):
        body["referring_physician"] = {"name": v["referring_physician_name"],
                                       "phone": v.get("referring_physician_phone"),
                                       "fax": v.get("referring_physician_fax"),
                                       "billing_number": v.get("referring_physician_billing_number")}
    return {k: val for k, val in body.items() if val is not None}


_PREFERENCES = {"sms": "sms", "text": "sms", "texts": "sms", "text_message": "sms", "txt": "sms",
                "email": "email", "e_mail": "email", "mail": "email",
                "phone": "phone", "call": "phone", "telephone": "phone", "phone_call": "phone", "voice": "phone",
                "none": "none", "no": "none", "do_not_contact": "none", "dnc": "none", "never": "none"}
_CONSENT = {"yes": True, "y": True, "true": True, "1": True, "x": True, "ok": True, "opted_in": True,
            "opt_in": True, "no": False, "n": False, "false": False, "0": False, "opted_out": False,
            "opt_out": False}
# The contact detail each channel needs on file.
_CHANNEL_NEEDS = {"sms": "phone", "phone": "phone", "email": "email"}


def _contact_from_columns(v: dict[str, str | None], candidate: Candidate, columns: dict[str, str]) -> None:
    """Contact preference and reminder consent (app.patients: how the patient wants reminders, and whether they
    agreed to be contacted at all). An error names the field and, in its message, the file's column."""
    body = candidate.body
    raw = v.get("contact_preference")
    if raw:
        preference = _PREFERENCES.get(_token(raw))
        if preference is None:
            candidate.errors.append(FieldError(field="contact_preference", message=(
                f"column {columns['contact_preference']!r}: {raw!r} is not one of sms, email, phone, none")))
        elif (needs := _CHANNEL_NEEDS.get(preference)) and not body.get(needs):
            candidate.errors.append(FieldError(field="contact_preference", message=(
                f"column {columns['contact_preference']!r}: {raw!r} needs the patient's {needs}, "
                f"and the row has none")))
        else:
            body["contact_preference"] = preference
    raw = v.get("reminder_consent")
    if raw:
        consent = _CONSENT.get(_token(raw))
        if consent is None:
            candidate.errors.append(FieldError(field="reminder_consent", message=(
                f"column {columns['reminder_consent']!r}: {raw!r} is not yes or no")))
        else:
            body["reminder_consent"] = consent


def _token(raw: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", raw.lower()).strip("_")


_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUMERIC = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_TEXTUAL = ("%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%d-%b-%Y", "%b %d, %Y", "%B %d, %Y")


def parse_date(text: str, order: DateOrder | None = None) -> date:
    """ISO, YYYYMMDD, '17 Apr 1961', 'April 17, 1961', or dd/mm/yyyy when the order is known or unambiguous."""
    text = text.strip()
    if m := _ISO.match(text) or _COMPACT.match(text):
        return _date(int(m.group(1)), int(m.group(2)), int(m.group(3)), text)
    if m := _NUMERIC.match(text):
        first, second, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if order is None:
            if first > 12 >= second:
                order = "DMY"
            elif second > 12 >= first:
                order = "MDY"
            elif first != second:
                raise ValueError(f"{text!r} could be day/month or month/day: send date_order=DMY or MDY")
            else:
                order = "DMY"  # 03/03/1970 reads the same either way
        day, month = (first, second) if order == "DMY" else (second, first)
        return _date(year, month, day, text)
    for layout in _TEXTUAL:
        try:
            return datetime.strptime(text.replace(".", ""), layout).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD)")


def _date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{text!r} is not a real calendar date") from None


# --- FHIR --------------------------------------------------------------------------------------------------


def read_fhir(text: str) -> tuple[list[Candidate], list[str]]:
    """Patients from a Bundle (or a single Patient); other resource types are listed as ignored."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("resourceType") not in ("Bundle", "Patient"):
        raise UnreadableFile("expected a FHIR Bundle (or a Patient) resource")
    if doc["resourceType"] == "Patient":
        entries: list[Any] = [{"resource": doc}]
    else:
        entries = doc.get("entry") or []
        if not isinstance(entries, list):
            raise UnreadableFile("Bundle.entry must be a list")
    candidates: list[Candidate] = []
    ignored: set[str] = set()
    for position, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind != "Patient":
            ignored.add(str(kind or "entry without a resource"))
            continue
        candidate = Candidate(len(candidates), f"entry[{position}]", {})
        candidate.body = _body_from_patient(resource or {}, candidate)
        candidates.append(candidate)
    return candidates, sorted(ignored)


_FHIR_SEX = {"female": "female", "male": "male", "other": "intersex", "unknown": "unknown"}


def _body_from_patient(p: dict[str, Any], candidate: Candidate) -> dict[str, Any]:
    body: dict[str, Any] = {}
    names = [n for n in p.get("name") or [] if isinstance(n, dict)]
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = official.get("given") or []
    if given:
        body["given_name"] = given[0]
    if official.get("family"):
        body["family_name"] = official["family"]
    usual = next((n for n in names if n.get("use") in ("usual", "nickname") and n is not official), None)
    if usual and usual.get("given"):
        body["preferred_name"] = usual["given"][0]
    if p.get("birthDate"):
        try:
            body["birth_date"] = parse_date(str(p["birthDate"])).isoformat()
        except ValueError as exc:
            candidate.errors.append(FieldError(field="birth_date", message=str(exc)))
    if p.get("gender"):
        body["sex_at_birth"] = _FHIR_SEX.get(p["gender"], "unknown")
    for identifier in p.get("identifier") or []:
        system, value = identifier.get("system"), identifier.get("value")
        if not value:
            continue
        if system == codes.CHART_NUMBER or _is_mrn(identifier):
            body.setdefault("chart_number", value)
        elif system == codes.ON_HEALTH_CARD:
            body.setdefault("health_card_number", value)
            body.setdefault("health_card_province", "ON")
    for telecom in p.get("telecom") or []:
        if telecom.get("system") in ("phone", "sms") and telecom.get("value"):
            body.setdefault("phone", telecom["value"])
        elif telecom.get("system") == "email" and telecom.get("value"):
            body.setdefault("email", telecom["value"])
    _contact_from_patient(p, body)
    addresses = [a for a in p.get("address") or [] if isinstance(a, dict)]
    if addresses:
        a = next((x for x in addresses if x.get("use") == "home"), addresses[0])
        body["address"] = {k: val for k, val in {"lines": a.get("line") or [], "city": a.get("city"),
                                                  "province": a.get("state"), "postal_code": a.get("postalCode"),
                                                  "country": a.get("country")}.items() if val is not None}
    contact = next((c for c in p.get("contact") or [] if isinstance(c, dict) and c.get("name")), None)
    if contact:
        name = contact["name"]
        text = name.get("text") or " ".join([*(name.get("given") or []), name.get("family") or ""]).strip()
        phone = next((t.get("value") for t in contact.get("telecom") or [] if t.get("system") == "phone"), None)
        relationship = next((r.get("text") or (r.get("coding") or [{}])[0].get("display")
                             for r in contact.get("relationship") or []), None)
        if text:
            body["emergency_contact"] = {k: val for k, val in {"name": text, "phone": phone,
                                                                "relationship": relationship}.items() if val}
    return body


def _contact_from_patient(p: dict[str, Any], body: dict[str, Any]) -> None:
    """Reminder settings as IMS Chart emits them (app.fhir.mapping.reminder_contact), else the rank-1 telecom."""
    extension = next((x for x in p.get("extension") or [] if isinstance(x, dict)
                      and x.get("url") == codes.REMINDER_CONTACT), None)
    parts = {x.get("url"): x for x in (extension or {}).get("extension") or [] if isinstance(x, dict)}
    if "preference" in parts:
        body["contact_preference"] = parts["preference"].get("valueCode")
    else:
        ranked = sorted((t for t in p.get("telecom") or [] if isinstance(t, dict) and isinstance(t.get("rank"), int)),
                        key=lambda t: t["rank"])
        if ranked and ranked[0].get("system") in ("sms", "email", "phone"):
            body["contact_preference"] = ranked[0]["system"]
    if "consent" in parts:
        body["reminder_consent"] = parts["consent"].get("valueBoolean")


def _is_mrn(identifier: dict[str, Any]) -> bool:
    codings = (identifier.get("type") or {}).get("coding") or []
    return any(c.get("code") == "MR" for c in codings)
