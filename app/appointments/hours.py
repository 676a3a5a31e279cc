"""Working hours as UTC intervals, computed per local calendar date (pure: no database).

A schedule says "Mondays 09:00-17:00" in the clinic's zone. Each date's wall-clock times are turned
into instants with that date's own UTC offset, so the week a clock changes keeps 09:00 at 09:00 and
no appointment shifts or disappears; the 23- or 25-hour day simply has its own offsets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.appointments.enums import WEEKDAYS, ExceptionKind

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class DatedException:
    on_date: date
    kind: str
    start: time | None
    end: time | None


def at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a date in `zone` (24:00 is written as 00:00 next day)."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def _ranges(day: date, spec: Sequence[Sequence[str]], zone: ZoneInfo) -> list[Interval]:
    return [(at(day, time.fromisoformat(a), zone), at(day, time.fromisoformat(b), zone)) for a, b in spec]


def subtract(intervals: Iterable[Interval], cut: Interval) -> list[Interval]:
    out: list[Interval] = []
    for start, end in intervals:
        if cut[1] <= start or cut[0] >= end:
            out.append((start, end))
            continue
        if start < cut[0]:
            out.append((start, cut[0]))
        if cut[1] < end:
            out.append((cut[1], end))
    return out


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def working_intervals(hours: dict[str, list[list[str]]] | None, breaks: dict[str, list[list[str]]] | None,
                      exceptions: Sequence[DatedException], first: date, last: date, zone: ZoneInfo
                      ) -> list[Interval]:
    """Every working interval on the local dates `first`..`last` (inclusive), as sorted UTC instants."""
    hours, breaks = hours or {}, breaks or {}
    by_date: dict[date, list[DatedException]] = {}
    for exc in exceptions:
        by_date.setdefault(exc.on_date, []).append(exc)
    result: list[Interval] = []
    day = first
    while day <= last:
        weekday = WEEKDAYS[day.weekday()]
        spans = _ranges(day, hours.get(weekday, []), zone)
        for cut in _ranges(day, breaks.get(weekday, []), zone):
            spans = subtract(spans, cut)
        for exc in by_date.get(day, []):
            if exc.kind == ExceptionKind.EXTRA_HOURS and exc.start and exc.end:
                spans.append((at(day, exc.start, zone), at(day, exc.end, zone)))
            elif exc.kind != ExceptionKind.EXTRA_HOURS:
                whole = (at(day, time(0), zone), at(day + timedelta(days=1), time(0), zone))
                spans = subtract(spans, (at(day, exc.start, zone), at(day, exc.end, zone))
                                 if exc.start and exc.end else whole)
        result.extend(merge(spans))
        day += timedelta(days=1)
    return merge(result)


def covers(intervals: Sequence[Interval], start: datetime, end: datetime) -> bool:
    """Is [start, end) inside one working interval?"""
    return any(a <= start and end <= b for a, b in intervals)


def day_off_reason(exceptions: Sequence[DatedException], day: date) -> str | None:
    """A whole-day exception on `day` (holiday, sick day, time off), for reporting skipped occurrences."""
    for exc in exceptions:
        if exc.on_date == day and exc.kind != ExceptionKind.EXTRA_HOURS and exc.start is None:
            return str(exc.kind)
    return None
