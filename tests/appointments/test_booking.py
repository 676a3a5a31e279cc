"""Booking: types, working hours, no double booking (also under a race), the override, warnings, audit."""

from __future__ import annotations

import threading

from sqlalchemy import select

from app.models import Appointment, AuditEvent
from tests.appointments.helpers import IMS, INITIAL, book, booking, set_hours
from tests.factories import make_patient
from tests.treatments.helpers import consent

MON = "2027-02-01"  # a Monday in EST (-05:00)


def test_the_two_seeded_types_are_listed_for_anyone(client, staff):
    reception = staff("reception")
    types = {t["name"]: t for t in client.get("/api/v1/appointment-types", headers=reception.headers).json()}
    assert types["Initial Gunn assessment"]["duration_minutes"] == 60
    assert types["Initial Gunn assessment"]["id"] == INITIAL and not types["Initial Gunn assessment"]["is_ims"]
    assert (types["IMS treatment"]["duration_minutes"], types["IMS treatment"]["is_ims"]) == (30, True)


def test_admin_adds_and_retires_a_type_others_may_not(client, staff):
    admin, reception = staff("admin"), staff("reception")
    body = {"name": "Follow-up", "duration_minutes": 45, "colour": "#ff0000", "buffer_after_minutes": 15}
    assert client.post("/api/v1/appointment-types", json=body, headers=reception.headers).status_code == 403
    created = client.post("/api/v1/appointment-types", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    assert client.post("/api/v1/appointment-types", json=body, headers=admin.headers).status_code == 409
    bad = client.post("/api/v1/appointment-types", json={**body, "name": "x", "colour": "red"}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "colour"
    url = f"/api/v1/appointment-types/{created.json()['id']}"
    assert client.patch(url, json={"active": False}, headers=admin.headers).status_code == 428
    assert client.patch(url, json={"active": False}, headers={**admin.headers, "If-Match": 'W/"9"'}).status_code == 412
    retired = client.patch(url, json={"active": False}, headers={**admin.headers, "If-Match": 'W/"1"'})
    assert retired.status_code == 200 and retired.json()["active"] is False
    names = [t["name"] for t in client.get("/api/v1/appointment-types", headers=admin.headers).json()]
    assert "Follow-up" not in names


def test_reception_books_within_hours_and_it_is_rendered_in_the_clinic_zone(client, staff, db):
    admin, therapist, reception = staff("admin"), staff("therapist"), staff("reception")
    set_hours(client, admin, therapist)
    patient = make_patient(client, reception)
    response = client.post("/api/v1/appointments", json=booking(patient["id"], therapist, f"{MON}T15:00:00Z"),
                           headers=reception.headers)
    assert response.status_code == 201, response.text
    appt = response.json()
    assert appt["start"] == f"{MON}T10:00:00-05:00" and appt["end"] == f"{MON}T10:30:00-05:00"
    assert (appt["status"], appt["type_name"], appt["version"]) == ("booked", "IMS treatment", 1)
    assert response.headers["etag"] == 'W/"1"' and response.headers["location"].endswith(appt["id"])
    read = client.get(f"/api/v1/appointments/{appt['id']}", headers=staff("auditor").headers)
    assert read.status_code == 200 and read.json()["start"] == appt["start"]
    actions = [e.action for e in db.scalars(select(AuditEvent).where(AuditEvent.resource_type == "Appointment"))]
    assert actions == ["book", "read"]


def test_an_overlap_is_a_409_naming_the_appointment_back_to_back_is_fine(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    first = book(client, admin, patient["id"], therapist, f"{MON}T10:00:00-05:00", type_id=INITIAL)
    clash = client.post("/api/v1/appointments", json=booking(patient["id"], therapist, f"{MON}T10:45:00-05:00"),
                        headers=admin.headers)
    assert clash.status_code == 409
    assert first["id"] in clash.json()["detail"] and clash.headers["x-conflicting-appointment"] == first["id"]
    book(client, admin, patient["id"], therapist, f"{MON}T11:00:00-05:00")  # starts when the first ends
    other = staff("therapist")
    set_hours(client, admin, other)
    book(client, admin, patient["id"], other, f"{MON}T10:00:00-05:00")  # another therapist's book is separate


def test_a_type_buffer_holds_the_time_after_the_visit(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    kind = client.post("/api/v1/appointment-types", json={"name": "Long IMS", "duration_minutes": 30, "is_ims": True,
                                                          "buffer_after_minutes": 15}, headers=admin.headers).json()
    patient = make_patient(client, admin)
    book(client, admin, patient["id"], therapist, f"{MON}T09:00:00-05:00", type_id=kind["id"])
    late = client.post("/api/v1/appointments", json=booking(patient["id"], therapist, f"{MON}T09:40:00-05:00"),
                       headers=admin.headers)
    assert late.status_code == 409
    book(client, admin, patient["id"], therapist, f"{MON}T09:45:00-05:00")


def test_outside_hours_breaks_and_days_off_are_409_unless_overridden_and_audited(client, staff, db):
    admin, therapist, reception = staff("admin"), staff("therapist"), staff("reception")
    patient = make_patient(client, reception)
    no_schedule = client.post("/api/v1/appointments", json=booking(patient["id"], therapist, f"{MON}T10:00:00-05:00"),
                              headers=reception.headers)
    assert no_schedule.status_code == 409 and "no working hours" in no_schedule.json()["detail"]
    set_hours(client, admin, therapist)
    for start in (f"{MON}T08:30:00-05:00", f"{MON}T12:15:00-05:00", f"{MON}T16:45:00-05:00",
                  "2027-02-06T10:00:00-05:00"):  # before opening, lunch, runs past 17:00, a Saturday
        response = client.post("/api/v1/appointments", json=booking(patient["id"], therapist, start),
                               headers=reception.headers)
        assert response.status_code == 409, start
        assert "override_hours" in response.json()["detail"]
    day_off = client.post(f"/api/v1/therapists/{therapist.id}/schedule/exceptions",
                          json={"on_date": "2027-02-02", "kind": "holiday", "note": "Conference"},
                          headers=admin.headers)
    assert day_off.status_code == 201, day_off.text
    holiday = client.post("/api/v1/appointments", json=booking(patient["id"], therapist, "2027-02-02T10:00:00-05:00"),
                          headers=reception.headers)
    assert holiday.status_code == 409 and "holiday" in holiday.json()["detail"]
    forced = client.post("/api/v1/appointments", json=booking(
        patient["id"], therapist, f"{MON}T12:15:00-05:00", override_hours=True), headers=reception.headers)
    assert forced.status_code == 201 and forced.json()["outside_hours"] is True
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "book")).all()
    assert event.detail == {"override": "outside_working_hours"} and event.actor_id == reception.id


def test_extra_hours_open_a_saturday(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    extra = {"on_date": "2027-02-06", "kind": "extra_hours", "start": "10:00", "end": "12:00"}
    assert client.post(f"/api/v1/therapists/{therapist.id}/schedule/exceptions", json=extra,
                       headers=therapist.headers).status_code == 201  # a therapist keeps their own
    book(client, admin, patient["id"], therapist, "2027-02-06T10:00:00-05:00")


def test_an_ims_booking_without_consent_warns_and_with_consent_does_not(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    warned = book(client, admin, patient["id"], therapist, f"{MON}T09:00:00-05:00", type_id=IMS)
    assert [w["field"] for w in warned["warnings"]] == ["type_id"] and "consent" in warned["warnings"][0]["message"]
    assert book(client, admin, patient["id"], therapist, f"{MON}T10:00:00-05:00", type_id=INITIAL)["warnings"] == []
    consent(client, therapist, patient["id"])
    assert book(client, admin, patient["id"], therapist, f"{MON}T11:00:00-05:00", type_id=IMS)["warnings"] == []


def test_bad_bookings_are_422_naming_the_field(client, staff):
    admin, therapist, reception = staff("admin"), staff("therapist"), staff("reception")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    cases = [({"start": "2027-02-01T10:00:00"}, "start"),  # no offset
             ({"type_id": "00000000-0000-0000-0000-000000000000"}, "type_id"),
             ({"therapist_id": str(reception.id)}, "therapist_id"),
             ({"patient_id": "00000000-0000-0000-0000-000000000000"}, None),
             ({"end": f"{MON}T09:00:00-05:00"}, "end"),
             ({"colour": "red"}, "colour")]
    for overrides, field in cases:
        response = client.post("/api/v1/appointments",
                               json={**booking(patient["id"], therapist, f"{MON}T10:00:00-05:00"), **overrides},
                               headers=admin.headers)
        if field is None:
            assert response.status_code == 404, response.text
        else:
            assert response.status_code == 422, (overrides, response.text)
            assert response.json()["errors"][0]["field"] == field


def test_a_therapist_books_only_their_own_reception_anyone(client, staff, db):
    admin, mine, theirs, reception = staff("admin"), staff("therapist"), staff("therapist"), staff("reception")
    set_hours(client, admin, mine)
    set_hours(client, admin, theirs)
    patient = make_patient(client, reception)
    book(client, mine, patient["id"], mine, f"{MON}T10:00:00-05:00")
    denied = client.post("/api/v1/appointments", json=booking(patient["id"], theirs, f"{MON}T10:00:00-05:00"),
                         headers=mine.headers)
    assert denied.status_code == 403
    assert db.scalar(select(AuditEvent).where(AuditEvent.outcome == "denied")).actor_id == mine.id
    book(client, reception, patient["id"], theirs, f"{MON}T10:00:00-05:00")
    schedule = client.put(f"/api/v1/therapists/{theirs.id}/schedule", json={"hours": {}}, headers=mine.headers)
    assert schedule.status_code == 403


def test_two_clients_racing_for_one_slot_get_one_201_and_one_409(client, staff, db):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    desks = [staff("reception"), staff("reception")]
    patients = [make_patient(client, admin)["id"], make_patient(client, admin)["id"]]
    for round_ in range(3):
        start = f"{MON}T{9 + round_:02d}:00:00-05:00"
        barrier = threading.Barrier(2)
        results: list[int] = [0, 0]

        def race(i: int, start: str = start, barrier: threading.Barrier = barrier, results: list[int] = results
                 ) -> None:
            barrier.wait()
            response = client.post("/api/v1/appointments", json=booking(patients[i], therapist, start),
                                   headers=desks[i].headers)
            results[i] = response.status_code

        threads = [threading.Thread(target=race, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [201, 409], results
    held = db.scalars(select(Appointment).where(Appointment.therapist_id == therapist.id)).all()
    assert len(held) == 3
