"""FHIR search parameters: which ones each resource type supports, and how a query string is read.

One table (`SPEC`) drives parsing, the CapabilityStatement and the OpenAPI description, so what we declare is
exactly what we do. A search never silently widens: a parameter we do not support is refused under
`Prefer: handling=strict` (400 OperationOutcome) and, under the default lenient handling, ignored *and left out
of the Bundle's `self` link*, so the client can see which criteria were applied. A supported parameter with a
bad value is always a 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.kit.errors import SearchError

MAX_COUNT, DEFAULT_COUNT = 200, 50
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
SP = "http://hl7.org/fhir/SearchParameter/"


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # token | string | date | reference | number | special
    doc: str
    definition: str = ""
    modifiers: tuple[str, ...] = ()


def _p(name: str, kind: str, doc: str, definition: str, modifiers: tuple[str, ...] = ()) -> Param:
    return Param(name, kind, doc, SP + definition, modifiers)


_ID = _p("_id", "token", "Logical id", "Resource-id")
_LAST = _p("_lastUpdated", "date", "meta.lastUpdated with eq/ne/gt/ge/lt/le prefixes", "Resource-lastUpdated")
_PATIENT = _p("patient", "reference", "Patient/<id> or <id> (required for clinical resources)",
              "clinical-patient")
_SUBJECT = _p("subject", "reference", "Same as patient", "Observation-subject")
_CODE = _p("code", "token", "[system]|code or code", "clinical-code")
_STATUS = _p("status", "token", "The resource's status code", "Observation-status")
_ENCOUNTER = _p("encounter", "reference", "Encounter/<id> or <id>", "clinical-encounter")
_DATE = _p("date", "date", "Clinical date (effective, performed, period, consent date) with prefixes", "clinical-date")
_STRING = ("exact", "contains")

SPEC: dict[str, tuple[Param, ...]] = {
    "Patient": (_ID, _LAST, _p("identifier", "token", "system|value, |value or value: chart number or Ontario "
                               "health card number", "Patient-identifier"),
                _p("family", "string", "Family name starts with (case and accent blind); :exact, :contains",
                   "individual-family", _STRING),
                _p("given", "string", "Given or preferred name starts with; :exact, :contains", "individual-given",
                   _STRING),
                _p("name", "string", "Any part of the name starts with; :exact, :contains", "Patient-name", _STRING),
                _p("birthdate", "date", "Birth date with prefixes", "individual-birthdate"),
                _p("gender", "token", "male | female | other | unknown", "individual-gender"),
                _p("active", "token", "true | false", "Patient-active")),
    "Practitioner": (_ID, _LAST, _p("identifier", "token", "College registration number", "Practitioner-identifier"),
                     _p("name", "string", "Name contains (case blind)", "Practitioner-name", _STRING),
                     _p("active", "token", "true | false", "Practitioner-active")),
    "Observation": (_ID, _LAST, _PATIENT, _SUBJECT, _DATE, _CODE, _STATUS, _ENCOUNTER),
    "Procedure": (_ID, _LAST, _PATIENT, _SUBJECT, _DATE, _CODE, _STATUS, _ENCOUNTER),
    "Encounter": (_ID, _LAST, _PATIENT, _SUBJECT, _DATE, _STATUS),
    "Condition": (_ID, _LAST, _PATIENT, _SUBJECT, _CODE,
                  _p("clinical-status", "token", "active | resolved", "Condition-clinical-status")),
    "Consent": (_ID, _LAST, _PATIENT, _DATE, _STATUS),
    "Provenance": (_ID, _LAST, _PATIENT),
    "Appointment": (_ID, _LAST, _PATIENT, _DATE, _STATUS),
    "Schedule": (_ID, _LAST, _p("actor", "reference", "Practitioner/<id>: the therapist's schedule", "Schedule-actor")),
    "Slot": (_ID, _LAST, _p("schedule", "reference", "Schedule/<id> (required)", "Slot-schedule"),
             _p("start", "date", "Slot start with ge/gt (from) and lt/le (until); default the next 7 days",
                "Slot-start"),
             _p("service-type", "token", "Appointment type name", "Slot-service-type")),
}
SORTS = {"Patient": ("_id", "_lastUpdated", "birthdate"), "Practitioner": ("_id", "_lastUpdated")}
CONTROL = ("_count", "_sort", "_summary", "_include", "_page", "_format")


def sorts(resource_type: str) -> tuple[str, ...]:
    return SORTS.get(resource_type, ("_id", "_lastUpdated", *(("date",) if _DATE in SPEC[resource_type] else ())))


def includes(resource_type: str) -> tuple[str, ...]:
    return tuple(f"{resource_type}:{p.name}" for p in SPEC[resource_type] if p in (_PATIENT, _SUBJECT))


@dataclass(frozen=True)
class DateRange:
    """A search date as the half-open range its precision covers, with the comparison prefix."""

    prefix: str
    lo: datetime
    hi: datetime

    def matches(self, start: datetime, end: datetime | None = None) -> bool:
        """Against a target instant or period [start, end]."""
        end = end or start
        inside = self.lo <= start and end < self.hi
        return {"eq": inside, "ne": not inside, "gt": end >= self.hi, "ge": end >= self.lo,
                "lt": start < self.lo, "le": start < self.hi}[self.prefix]


_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(T.+)?)?)?$")


def parse_date(raw: str, zone: ZoneInfo, name: str) -> DateRange:
    prefix, value = (raw[:2], raw[2:]) if raw[:2] in PREFIXES else ("eq", raw)
    found = _DATE_RE.match(value)
    try:
        if not found:
            raise ValueError
        year, month, day_, time = found.groups()
        if time:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError
            step = timedelta(microseconds=1) if moment.microsecond else timedelta(seconds=1)
            return DateRange(prefix, moment.astimezone(UTC), (moment + step).astimezone(UTC))
        lo = datetime(int(year), int(month or 1), int(day_ or 1), tzinfo=zone)
        if day_:
            hi = lo + timedelta(days=1)
        elif month:
            hi = lo.replace(year=lo.year + (lo.month == 12), month=lo.month % 12 + 1)
        else:
            hi = lo.replace(year=lo.year + 1)
        return DateRange(prefix, lo.astimezone(UTC), hi.astimezone(UTC))
    except (ValueError, OverflowError) as exc:  # 9999-12-31T23:59:59-23:59 is past the calendar's end in UTC
        raise SearchError(f"{name}={raw}: expected [eq|ne|gt|ge|lt|le]YYYY[-MM[-DD[Thh:mm:ss+zz:zz]]]") from exc


def date_bounds(r: DateRange, zone: ZoneInfo) -> tuple[date, date]:
    """The calendar dates a range covers (for date-only columns such as birth date)."""
    return r.lo.astimezone(zone).date(), r.hi.astimezone(zone).date()


def token(raw: str) -> tuple[str | None, str]:
    """'system|code' -> (system, code); '|code' -> ('', code): no system; 'code' -> (None, code): any system."""
    if "|" in raw:
        system, code = raw.split("|", 1)
        return system, code
    return None, raw


@dataclass
class Query:
    """A parsed search: criteria (name, modifier, OR-alternatives; repeats are ANDed) and controls."""

    resource_type: str
    criteria: list[tuple[str, str | None, list[str]]] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    sort: str | None = None
    descending: bool = False
    summary_count: bool = False
    include_patient: bool = False
    page: str | None = None
    applied: list[tuple[str, str]] = field(default_factory=list)  # for the self link, in the order given
    ignored: list[str] = field(default_factory=list)

    def values(self, name: str) -> list[tuple[str | None, list[str]]]:
        return [(modifier, alts) for n, modifier, alts in self.criteria if n == name]


def parse(resource_type: str, pairs: list[tuple[str, str]], strict: bool) -> Query:
    known = {p.name: p for p in SPEC[resource_type]}
    q = Query(resource_type)

    def unsupported(key: str, why: str) -> None:
        if strict:
            raise SearchError(f"{why} (Prefer: handling=strict). Supported for {resource_type}: "
                              f"{', '.join([*known, *CONTROL])}; see /fhir/metadata")
        q.ignored.append(key)

    for key, raw in pairs:
        name, _, modifier = key.partition(":")
        if name in known:
            if modifier and modifier not in known[name].modifiers:
                unsupported(key, f"modifier :{modifier} is not supported on {name}")
                continue
            if raw == "":
                continue  # an empty parameter is no criterion (FHIR: servers SHALL ignore it)
            q.criteria.append((name, modifier or None, raw.split(",")))
        elif key == "_count":
            if not raw.isdigit():
                raise SearchError(f"_count={raw}: expected a whole number 0-{MAX_COUNT}")
            q.count = min(int(raw), MAX_COUNT)
        elif key == "_sort":
            name = raw.removeprefix("-")
            if name not in sorts(resource_type):
                unsupported(key, f"_sort={raw} is not supported; sort keys: {', '.join(sorts(resource_type))}")
                continue
            q.sort, q.descending = name, raw.startswith("-")
        elif key == "_summary":
            if raw not in ("count", "false"):
                unsupported(key, f"_summary={raw} is not supported (count, false)")
                continue
            q.summary_count = raw == "count"
        elif key == "_include":
            if raw not in includes(resource_type):
                unsupported(key, f"_include={raw} is not supported; supported: "
                                 f"{', '.join(includes(resource_type)) or 'none'}")
                continue
            q.include_patient = True
        elif key == "_page":
            q.page = raw
            continue  # not a criterion: the self link of page 2 carries its own cursor below
        elif key == "_format":
            if raw not in ("json", "application/json", "application/fhir+json"):
                raise SearchError(f"_format={raw}: this server speaks application/fhir+json only")
        else:
            unsupported(key, f"search parameter {key} is not supported for {resource_type}")
            continue
        q.applied.append((key, raw))
    return q
