"""Daylight saving in America/Toronto never shifts or drops a visit; weekly courses skip and report."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.appointments.hours import DatedException, working_intervals
from app.models import Appointment, AuditEvent
from tests.appointments.helpers import IMS, book, booking, set_hours, step
from tests.factories import join_care_team, make_patient
from tests.treatments.helpers import consent

TORONTO = ZoneInfo("America/Toronto")
SPRING = {"mon": [["09:00", "17:00"]], "sun": [["01:00", "05:00"]]}


def test_working_hours_keep_their_wall_clock_time_across_the_spring_change():
    # 2027-03-14 (Sunday) clocks go 02:00 -> 03:00: that Sunday's 01:00-05:00 is 3 real hours.
    spans = working_intervals(SPRING, {}, [], date(2027, 3, 8), date(2027, 3, 15), TORONTO)
    hours = [(a.astimezone(TORONTO).strftime("%a %H:%M"), (b - a).total_seconds() / 3600) for a, b in spans]
    assert hours == [("Mon 09:00", 8), ("Sun 01:00", 3), ("Mon 09:00", 8)]
    assert [a.hour for a, _ in spans] == [14, 6, 13]  # UTC: EST then EDT


def test_the_autumn_change_makes_a_longer_day_and_exceptions_apply():
    # 2027-11-07 (Sunday) 02:00 -> 01:00: 01:00-05:00 is 5 real hours.
    off = [DatedException(date(2027, 11, 8), "holiday", None, None)]
    spans = working_intervals(SPRING, {"mon": [["12:00", "13:00"]]}, off, date(2027, 11, 1), date(2027, 11, 8),
                              TORONTO)
    assert [(a.astimezone(TORONTO).strftime("%a %d %H:%M"), (b - a).total_seconds() / 3600) for a, b in spans] == [
        ("Mon 01 09:00", 3), ("Mon 01 13:00", 4), ("Sun 07 01:00", 5)]


def test_a_booking_in_the_dst_week_stays_at_its_local_time(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    join_care_team(client, admin, patient["id"], therapist)  # the visit's therapist treats
    before = book(client, admin, patient["id"], therapist, "2027-03-12T16:30:00-05:00")  # Friday, EST
    after = book(client, admin, patient["id"], therapist, "2027-03-15T09:00:00-04:00")   # Monday, EDT
    assert before["start"] == "2027-03-12T16:30:00-05:00" and after["start"] == "2027-03-15T09:00:00-04:00"
    # 16:30 EST would be 17:30 on the Monday after the change: past closing.
    late = client.post("/api/v1/appointments", json=booking(patient["id"], therapist, "2027-03-15T16:30:00-05:00"),
                       headers=admin.headers)
    assert late.status_code == 409
    # and 08:30 EST is 09:30 EDT: inside.
    assert book(client, admin, patient["id"], therapist, "2027-03-15T08:30:00-05:00")["start"] == \
        "2027-03-15T09:30:00-04:00"


def test_a_six_week_ims_course_across_the_change_skips_the_holiday_and_reports_it(client, staff, db):
    admin, therapist, reception = staff("admin"), staff("therapist"), staff("reception")
    set_hours(client, admin, therapist)
    patient = make_patient(client, reception)
    join_care_team(client, reception, patient["id"], therapist)  # the visit's therapist treats
    consent(client, therapist, patient["id"])
    holiday = {"on_date": "2027-03-22", "kind": "holiday", "note": "Clinic closed"}
    assert client.post(f"/api/v1/therapists/{therapist.id}/schedule/exceptions", json=holiday,
                       headers=admin.headers).status_code == 201
    taken = book(client, admin, make_patient(client, admin, given_name="Other")["id"], therapist,
                 "2027-03-29T09:15:00-04:00")
    body = {"patient_id": patient["id"], "therapist_id": str(therapist.id), "type_id": IMS,
            "start": "2027-03-08T09:00:00-05:00", "rrule": "FREQ=WEEKLY;COUNT=6"}
    dry = client.post("/api/v1/appointments/series", json={**body, "dry_run": True}, headers=reception.headers)
    assert dry.status_code == 200 and len(dry.json()["booked"]) == 4
    assert db.scalar(select(Appointment).where(Appointment.patient_id == uuid.UUID(patient["id"]))) is None
    response = client.post("/api/v1/appointments/series", json=body, headers=reception.headers)
    assert response.status_code == 201, response.text
    out = response.json()
    assert [a["start"] for a in out["booked"]] == ["2027-03-08T09:00:00-05:00", "2027-03-15T09:00:00-04:00",
                                                   "2027-04-05T09:00:00-04:00", "2027-04-12T09:00:00-04:00"]
    assert {a["series_id"] for a in out["booked"]} == {out["series_id"]}
    skipped = {s["start"]: s for s in out["skipped"]}
    assert "holiday" in skipped["2027-03-22T09:00:00-04:00"]["reason"]
    assert skipped["2027-03-29T09:00:00-04:00"]["conflicting_appointment_id"] == taken["id"]
    books = db.scalars(select(AuditEvent).where(AuditEvent.action == "book",
                                                AuditEvent.patient_id == uuid.UUID(patient["id"])))
    assert all(e.detail["series_id"] == out["series_id"] for e in books)


def test_bad_rules_are_422_on_the_rrule_field(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    patient = make_patient(client, admin)
    join_care_team(client, admin, patient["id"], therapist)  # the visit's therapist treats
    body = {"patient_id": patient["id"], "therapist_id": str(therapist.id), "type_id": IMS,
            "start": "2027-03-08T09:00:00-05:00", "override_hours": True}
    for rule in ("FREQ=DAILY;COUNT=3", "FREQ=WEEKLY", "FREQ=WEEKLY;COUNT=2;UNTIL=20270401T000000Z",
                 "FREQ=WEEKLY;COUNT=99", "FREQ=WEEKLY;COUNT=3;BYMONTH=4", "FREQ=WEEKLY;UNTIL=20270401",
                 "FREQ=WEEKLY;COUNT=x", "FREQ=WEEKLY;COUNT=3;BYDAY=XX"):
        response = client.post("/api/v1/appointments/series", json={**body, "rrule": rule}, headers=admin.headers)
        assert response.status_code == 422, (rule, response.text)
        assert response.json()["errors"][0]["field"] == "rrule", rule
    ok = client.post("/api/v1/appointments/series", json={
        **body, "rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;UNTIL=20270331T000000Z"}, headers=admin.headers)
    assert ok.status_code == 201, ok.text
    assert [a["start"][:10] for a in ok.json()["booked"]] == ["2027-03-08", "2027-03-11", "2027-03-22", "2027-03-25"]


def test_a_course_that_cannot_be_booked_at_all_is_a_409(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    patient = make_patient(client, admin)
    join_care_team(client, admin, patient["id"], therapist)  # the visit's therapist treats
    response = client.post("/api/v1/appointments/series", json={
        "patient_id": patient["id"], "therapist_id": str(therapist.id), "type_id": IMS,
        "start": "2027-03-08T09:00:00-05:00", "rrule": "FREQ=WEEKLY;COUNT=2"}, headers=admin.headers)
    assert response.status_code == 409 and "working hours" in response.json()["detail"]


def _course(client, admin, therapist, patient_id, count=4):
    response = client.post("/api/v1/appointments/series", json={
        "patient_id": patient_id, "therapist_id": str(therapist.id), "type_id": IMS,
        "start": "2027-03-01T10:00:00-05:00", "rrule": f"FREQ=WEEKLY;COUNT={count}"}, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()["booked"]


def test_cancel_this_and_following_leaves_earlier_ones(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    join_care_team(client, admin, patient["id"], therapist)  # the visit's therapist treats
    course = _course(client, admin, therapist, patient["id"])
    [one] = step(client, admin, course[0], "cancel", json={"reason": "Away", "cancelled_by": "patient"})["items"]
    assert one["id"] == course[0]["id"]
    out = step(client, admin, course[1], "cancel", json={"reason": "Better", "cancelled_by": "patient"},
               scope="following")
    assert [a["id"] for a in out["items"]] == [a["id"] for a in course[1:]]
    statuses = [client.get(f"/api/v1/appointments/{a['id']}", headers=admin.headers).json()["status"] for a in course]
    assert statuses == ["cancelled"] * 4
    assert step(client, admin, course[0], "cancel", json={"reason": "x", "cancelled_by": "patient"},
                expect=412)["status"] == 412  # its version moved on


def test_move_this_and_following_keeps_the_weekly_rhythm_across_dst(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    join_care_team(client, admin, patient["id"], therapist)  # the visit's therapist treats
    course = _course(client, admin, therapist, patient["id"])  # Mar 1, 8, 15, 22 at 10:00
    url = f"/api/v1/appointments/{course[1]['id']}"
    moved = client.patch(url, params={"scope": "following"}, json={"start": "2027-03-09T14:00:00-05:00"},
                         headers={**admin.headers, "If-Match": 'W/"1"'})
    assert moved.status_code == 200, moved.text
    assert [a["start"] for a in moved.json()["items"]] == [
        "2027-03-09T14:00:00-05:00", "2027-03-16T14:00:00-04:00", "2027-03-23T14:00:00-04:00"]
    first = client.get(f"/api/v1/appointments/{course[0]['id']}", headers=admin.headers).json()
    assert first["start"] == "2027-03-01T10:00:00-05:00"
    # Moving the rest a week later: each occurrence lands where its sibling was, never colliding with it.
    later = client.patch(url, params={"scope": "following"}, json={"start": "2027-03-16T14:00:00-04:00"},
                         headers={**admin.headers, "If-Match": 'W/"2"'})
    assert later.status_code == 200, later.text
    assert [a["start"][:10] for a in later.json()["items"]] == ["2027-03-16", "2027-03-23", "2027-03-30"]
    blocker = book(client, admin, patient["id"], therapist, "2027-04-06T14:00:00-04:00")
    clash = client.patch(url, params={"scope": "following"}, json={"start": "2027-03-23T14:00:00-04:00"},
                         headers={**admin.headers, "If-Match": 'W/"3"'})
    assert clash.status_code == 409 and blocker["id"] in clash.json()["detail"]
    # atomic: nothing of the refused move stuck
    assert client.get(url, headers=admin.headers).json()["start"] == "2027-03-16T14:00:00-04:00"


def test_series_times_are_stored_in_utc_with_each_dates_offset(client, staff, db):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    course = _course(client, admin, therapist, make_patient(client, admin)["id"], count=3)
    rows = db.scalars(select(Appointment).where(Appointment.id.in_([uuid.UUID(a["id"]) for a in course]))
                      .order_by(Appointment.start_at)).all()
    assert [r.start_at.hour for r in rows] == [15, 15, 14]  # 10:00 EST, EST, EDT
    assert all(r.start_at.tzinfo is not None and r.rrule == "FREQ=WEEKLY;COUNT=3" for r in rows)
    assert datetime.fromisoformat(course[2]["start"]).utcoffset().total_seconds() == -4 * 3600


def test_a_note_or_another_therapist_for_the_rest_of_a_course(client, staff):
    admin, therapist, cover = staff("admin"), staff("therapist"), staff("therapist")
    set_hours(client, admin, therapist)
    set_hours(client, admin, cover)
    patient = make_patient(client, admin)
    join_care_team(client, admin, patient["id"], therapist)  # the visit's therapist treats
    course = _course(client, admin, therapist, patient["id"])
    url = f"/api/v1/appointments/{course[2]['id']}"
    out = client.patch(url, params={"scope": "following"}, json={"therapist_id": str(cover.id),
                                                                  "front_desk_notes": "Covering therapist"},
                       headers={**admin.headers, "If-Match": 'W/"1"'})
    assert out.status_code == 200, out.text
    assert [(a["therapist_id"], a["front_desk_notes"], a["start"][:16]) for a in out.json()["items"]] == [
        (str(cover.id), "Covering therapist", "2027-03-15T10:00"), (str(cover.id), "Covering therapist",
                                                                    "2027-03-22T10:00")]
    assert client.get(f"/api/v1/appointments/{course[1]['id']}", headers=admin.headers).json()["therapist_id"] == \
        str(therapist.id)


def test_the_autumn_change_neither_shifts_nor_drops_a_weekly_course(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    join_care_team(client, admin, patient["id"], therapist)  # the visit's therapist treats
    response = client.post("/api/v1/appointments/series", json={
        "patient_id": patient["id"], "therapist_id": str(therapist.id), "type_id": IMS,
        "start": "2027-10-29T16:30:00-04:00", "rrule": "FREQ=WEEKLY;COUNT=3"}, headers=admin.headers)
    assert response.status_code == 201, response.text
    out = response.json()
    # 2027-11-07 the clocks go back: the Friday 16:30 visit stays at 16:30 (now -05:00), none is skipped.
    assert [a["start"] for a in out["booked"]] == ["2027-10-29T16:30:00-04:00", "2027-11-05T16:30:00-04:00",
                                                   "2027-11-12T16:30:00-05:00"]
    assert out["skipped"] == []
    sheet = client.get("/api/v1/schedule/day", params={"date": "2027-11-12", "therapist": str(therapist.id)},
                       headers=admin.headers).json()
    assert [a["start"] for a in sheet["therapists"][0]["appointments"]] == ["2027-11-12T16:30:00-05:00"]
