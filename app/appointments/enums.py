"""Named states of the appointment book."""

from __future__ import annotations

from enum import StrEnum


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class CancelledBy(StrEnum):
    PATIENT = "patient"
    CLINIC = "clinic"


class ExceptionKind(StrEnum):
    HOLIDAY = "holiday"
    SICK_DAY = "sick_day"
    TIME_OFF = "time_off"
    EXTRA_HOURS = "extra_hours"


class Scope(StrEnum):
    """Which occurrences of a weekly course a move or cancellation applies to."""

    THIS = "this"
    FOLLOWING = "following"


# from -> the statuses it may move to (cancel and no-show are final; completed is final)
TRANSITIONS: dict[str, frozenset[str]] = {
    AppointmentStatus.BOOKED: frozenset({AppointmentStatus.ARRIVED, AppointmentStatus.CANCELLED,
                                         AppointmentStatus.NO_SHOW}),
    AppointmentStatus.ARRIVED: frozenset({AppointmentStatus.COMPLETED, AppointmentStatus.CANCELLED}),
    AppointmentStatus.COMPLETED: frozenset(),
    AppointmentStatus.CANCELLED: frozenset(),
    AppointmentStatus.NO_SHOW: frozenset(),
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
