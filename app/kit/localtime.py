"""Times for people: stored in UTC, shown in the clinic's time zone and labelled with it.

A 10:00 visit in Toronto is stored as 15:00 UTC; every human-facing output (PDF chart, SVG pictures) formats
through here so a reader never sees UTC passed off as local time.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def to_local(moment: datetime | str, zone: ZoneInfo) -> datetime:
    """An instant (aware datetime or ISO string as stored in note content) in the clinic's zone."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if value.tzinfo is None:  # content validated as aware; a naive value can only be UTC from storage
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(zone)


def stamp(moment: datetime | str | None, zone: ZoneInfo) -> str:
    """'2026-11-10 10:00 EST': date, time and the zone's abbreviation at that instant ('-' when unknown)."""
    if moment is None:
        return "-"
    local = to_local(moment, zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def day(moment: datetime | date | str | None, zone: ZoneInfo) -> str:
    """The clinic-local calendar date of an instant; a plain date is printed as it is."""
    if moment is None:
        return "-"
    if isinstance(moment, date) and not isinstance(moment, datetime):
        return moment.isoformat()
    return f"{to_local(moment, zone):%Y-%m-%d}"
