"""booked -> arrived -> completed, or cancelled (late or not) or no_show; If-Match on every change; moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.models import AuditEvent
from tests.appointments.helpers import INITIAL, book, booking, set_hours, step
from tests.factories import make_patient

MON = "2027-02-01"


def _soon(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0).isoformat()


def test_a_visit_goes_booked_arrived_completed_and_stays_there(client, staff, db):
    admin, therapist, reception = staff("admin"), staff("therapist"), staff("reception")
    set_hours(client, admin, therapist)
    patient = make_patient(client, reception)
    appt = book(client, reception, patient["id"], therapist, f"{MON}T10:00:00-05:00")
    step(client, reception, appt, "complete", expect=409)  # not arrived yet
    arrived = step(client, reception, appt, "arrive")
    assert (arrived["status"], arrived["version"]) == ("arrived", 2) and arrived["arrived_at"]
    step(client, therapist, arrived, "arrive", expect=409)
    done = step(client, therapist, arrived, "complete")
    assert done["status"] == "completed" and done["completed_at"]
    for action, body in (("arrive", None), ("no-show", None), ("cancel", {"reason": "x", "cancelled_by": "clinic"})):
        step(client, reception, done, action, json=body, expect=409)
    moved = client.patch(f"/api/v1/appointments/{done['id']}", json={"start": f"{MON}T11:00:00-05:00"},
                         headers={**reception.headers, "If-Match": f'W/"{done["version"]}"'})
    assert moved.status_code == 409
    actions = [e.action for e in db.scalars(select(AuditEvent).where(
        AuditEvent.resource_type == "Appointment", AuditEvent.outcome == "success").order_by(AuditEvent.occurred_at))]
    assert actions == ["book", "arrive", "complete"]


def test_changes_need_if_match_and_a_stale_one_is_412(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    appt = book(client, admin, make_patient(client, admin)["id"], therapist, f"{MON}T10:00:00-05:00")
    url = f"/api/v1/appointments/{appt['id']}"
    assert client.post(url + "/arrive", headers=admin.headers).status_code == 428
    assert client.patch(url, json={"front_desk_notes": "x"}, headers=admin.headers).status_code == 428
    stale = {**admin.headers, "If-Match": 'W/"7"'}
    assert client.post(url + "/arrive", headers=stale).status_code == 412
    assert client.patch(url, json={"front_desk_notes": "x"}, headers=stale).status_code == 412
    assert client.get(url, headers=admin.headers).json()["status"] == "booked"


def test_a_patient_cancelling_inside_the_window_is_late_the_clinic_never_is(client, staff, db):
    admin, therapist, reception = staff("admin"), staff("therapist"), staff("reception")
    patient = make_patient(client, reception)
    soon = book(client, reception, patient["id"], therapist, _soon(3), override_hours=True)
    later = book(client, reception, patient["id"], therapist, _soon(72), override_hours=True)
    clinic_soon = book(client, reception, patient["id"], therapist, _soon(5), override_hours=True)
    bad = step(client, reception, soon, "cancel", json={"reason": "", "cancelled_by": "patient"}, expect=422)
    assert bad["errors"][0]["field"] == "reason"
    assert step(client, reception, soon, "cancel", json={"reason": "x", "cancelled_by": "nobody"},
                expect=422)["errors"][0]["field"] == "cancelled_by"
    [late] = step(client, reception, soon, "cancel", json={"reason": "Car trouble", "cancelled_by": "patient"})["items"]
    assert (late["status"], late["cancelled_by"], late["late_cancellation"]) == ("cancelled", "patient", True)
    assert late["cancel_reason"] == "Car trouble"
    [early] = step(client, reception, later, "cancel", json={"reason": "Away", "cancelled_by": "patient"})["items"]
    assert early["late_cancellation"] is False
    [ours] = step(client, reception, clinic_soon, "cancel", json={"reason": "Therapist ill",
                                                                  "cancelled_by": "clinic"})["items"]
    assert ours["late_cancellation"] is False
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "cancel")).first()
    assert event.detail == {"cancelled_by": "patient", "late": True}
    # The clinic decides the window: with 0 hours nothing is late.
    etag = client.get("/api/v1/clinic", headers=admin.headers).headers["etag"]
    assert client.patch("/api/v1/clinic", json={"late_cancellation_hours": 0},
                        headers={**admin.headers, "If-Match": etag}).status_code == 200
    again = book(client, reception, patient["id"], therapist, _soon(2), override_hours=True)
    [calm] = step(client, reception, again, "cancel", json={"reason": "x", "cancelled_by": "patient"})["items"]
    assert calm["late_cancellation"] is False


def test_a_cancelled_visit_frees_the_slot_and_stays_on_record(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    appt = book(client, admin, patient["id"], therapist, f"{MON}T10:00:00-05:00")
    step(client, admin, appt, "cancel", json={"reason": "Unwell", "cancelled_by": "patient"})
    book(client, admin, patient["id"], therapist, f"{MON}T10:00:00-05:00")
    listed = client.get("/api/v1/appointments", params={"patient": patient["id"]}, headers=admin.headers).json()
    assert sorted(a["status"] for a in listed["items"]) == ["booked", "cancelled"]


def test_no_show_only_once_the_visit_has_started(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    patient = make_patient(client, admin)
    future = book(client, admin, patient["id"], therapist, _soon(48), override_hours=True)
    assert "cancel it instead" in step(client, admin, future, "no-show", expect=409)["detail"]
    past = book(client, admin, patient["id"], therapist, _soon(-2), override_hours=True)
    missed = step(client, admin, past, "no-show")
    assert missed["status"] == "no_show" and missed["no_show_at"]


def test_moving_a_visit_checks_the_new_slot_and_bumps_its_sequence(client, staff, db):
    admin, therapist, reception = staff("admin"), staff("therapist"), staff("reception")
    set_hours(client, admin, therapist)
    patient = make_patient(client, reception)
    first = book(client, reception, patient["id"], therapist, f"{MON}T10:00:00-05:00")
    second = book(client, reception, patient["id"], therapist, f"{MON}T14:00:00-05:00", type_id=INITIAL)
    url = f"/api/v1/appointments/{second['id']}"
    headers = {**reception.headers, "If-Match": 'W/"1"'}
    clash = client.patch(url, json={"start": f"{MON}T09:30:00-05:00"}, headers=headers)
    assert clash.status_code == 409 and first["id"] in clash.json()["detail"]
    lunch = client.patch(url, json={"start": f"{MON}T11:30:00-05:00"}, headers=headers)
    assert lunch.status_code == 409 and "override_hours" in lunch.json()["detail"]
    assert client.patch(url, json={"start": None}, headers=headers).status_code == 422
    moved = client.patch(url, json={"start": f"{MON}T15:00:00-05:00"}, headers=headers)
    assert moved.status_code == 200, moved.text
    [out] = moved.json()["items"]
    assert (out["start"], out["end"], out["version"]) == (f"{MON}T15:00:00-05:00", f"{MON}T16:00:00-05:00", 2)
    itself = client.patch(url, json={"start": f"{MON}T15:30:00-05:00"}, headers={**headers, "If-Match": 'W/"2"'})
    assert itself.status_code == 200  # overlapping only its own old time is fine
    notes = client.patch(url, json={"front_desk_notes": "Parking validated"}, headers={**headers, "If-Match": 'W/"3"'})
    assert notes.json()["items"][0]["front_desk_notes"] == "Parking validated"
    actions = [e.action for e in db.scalars(select(AuditEvent).where(
        AuditEvent.resource_id == second["id"], AuditEvent.outcome == "success").order_by(AuditEvent.occurred_at))]
    assert actions == ["book", "reschedule", "reschedule", "update"]


def test_a_therapist_manages_only_their_own_visits(client, staff):
    admin, mine, theirs = staff("admin"), staff("therapist"), staff("therapist")
    patient = make_patient(client, admin)
    appt = book(client, admin, patient["id"], theirs, f"{MON}T10:00:00-05:00", override_hours=True)
    assert client.get(f"/api/v1/appointments/{appt['id']}", headers=mine.headers).status_code == 200
    step(client, mine, appt, "arrive", expect=403)
    step(client, theirs, appt, "arrive")


def test_listing_filters_by_therapist_and_time_and_pages(client, staff):
    admin, a, b = staff("admin"), staff("therapist"), staff("therapist")
    patient = make_patient(client, admin)
    for hour in (9, 10, 11):
        book(client, admin, patient["id"], a, f"{MON}T{hour:02d}:00:00-05:00", override_hours=True)
    book(client, admin, patient["id"], b, f"{MON}T09:00:00-05:00", override_hours=True)
    page = client.get("/api/v1/appointments", params={"therapist": str(a.id), "limit": 2}, headers=admin.headers)
    assert [x["start"][11:16] for x in page.json()["items"]] == ["09:00", "10:00"]
    rest = client.get("/api/v1/appointments", params={"therapist": str(a.id), "cursor": page.json()["next_cursor"]},
                      headers=admin.headers).json()
    assert [x["start"][11:16] for x in rest["items"]] == ["11:00"] and rest["next_cursor"] is None
    window = client.get("/api/v1/appointments", params={"from": f"{MON}T09:30:00-05:00", "to": f"{MON}T10:30:00-05:00"},
                        headers=admin.headers).json()["items"]
    assert len(window) == 1
    naive = client.get("/api/v1/appointments", params={"from": f"{MON}T09:30:00"}, headers=admin.headers)
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "from"
    assert client.get("/api/v1/appointments", params={"from": f"{MON}T10:00:00Z", "to": f"{MON}T09:00:00Z"},
                      headers=admin.headers).status_code == 422
    response = client.post("/api/v1/appointments", json=booking(patient["id"], a, f"{MON}T09:15:00-05:00",
                                                                override_hours=True), headers=admin.headers)
    assert response.status_code == 409  # the override is for hours, never for a double booking
