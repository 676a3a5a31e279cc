"""A therapist's iCalendar feed: RFC 5545, stable UIDs, SEQUENCE, cancellations, initials only, revocable."""

from __future__ import annotations

from icalendar import Calendar
from sqlalchemy import select

from app.models import AuditEvent
from tests.appointments.helpers import book, set_hours, step
from tests.factories import make_patient


def _feed(client, member, therapist) -> str:
    response = client.post(f"/api/v1/therapists/{therapist.id}/calendar-feed", headers=member.headers)
    assert response.status_code == 201, response.text
    url = response.json()["url"]
    assert "/ical/icf_" in url and len(url.rsplit("/", 1)[1]) > 40
    return "/ical/" + url.rsplit("/", 1)[1]


def test_a_calendar_app_subscribes_and_sees_moves_and_cancellations(client, staff, db):
    admin, therapist, reception = staff("admin"), staff("therapist"), staff("reception")
    set_hours(client, admin, therapist)
    patient = make_patient(client, reception, given_name="Margaret", family_name="Lindqvist")
    kept = book(client, reception, patient["id"], therapist, "2027-03-15T09:00:00-04:00")
    gone = book(client, reception, patient["id"], therapist, "2027-03-16T09:00:00-04:00")
    url = _feed(client, therapist, therapist)  # a therapist issues their own
    first = client.get(url)  # no bearer token: the URL is the credential
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/calendar")
    events = {str(e["uid"]): e for e in Calendar.from_ical(first.content).walk("VEVENT")}
    assert set(events) == {f"{kept['id']}@imschart", f"{gone['id']}@imschart"}
    event = events[f"{kept['id']}@imschart"]
    assert str(event["summary"]) == "M.L. - IMS treatment" and "Lindqvist" not in first.text
    assert event["sequence"] == 0 and event.decoded("dtstart").isoformat() == "2027-03-15T13:00:00+00:00"
    client.patch(f"/api/v1/appointments/{kept['id']}", json={"start": "2027-03-15T10:00:00-04:00"},
                 headers={**reception.headers, "If-Match": 'W/"1"'})
    step(client, reception, gone, "cancel", json={"reason": "x", "cancelled_by": "patient"})
    later = {str(e["uid"]): e for e in Calendar.from_ical(client.get(url).content).walk("VEVENT")}
    moved, cancelled = later[f"{kept['id']}@imschart"], later[f"{gone['id']}@imschart"]
    assert moved["sequence"] == 1 and moved.decoded("dtstart").isoformat() == "2027-03-15T14:00:00+00:00"
    assert (str(cancelled["status"]), cancelled["sequence"]) == ("CANCELLED", 1)
    reads = db.scalars(select(AuditEvent).where(AuditEvent.resource_type == "CalendarFeed",
                                                AuditEvent.action == "read")).all()
    assert len(reads) == 2 and kept["id"] in reads[0].detail["appointment_ids"]


def test_the_clinic_decides_how_much_of_the_patient_shows(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    patient = make_patient(client, admin, given_name="Margaret", family_name="Lindqvist")
    book(client, admin, patient["id"], therapist, "2027-03-15T09:00:00-04:00", override_hours=True)
    url = _feed(client, admin, therapist)
    for detail, summary in (("none", "IMS treatment"), ("full_name", "Margaret Lindqvist - IMS treatment")):
        etag = client.get("/api/v1/clinic", headers=admin.headers).headers["etag"]
        assert client.patch("/api/v1/clinic", json={"calendar_feed_detail": detail},
                            headers={**admin.headers, "If-Match": etag}).status_code == 200
        [event] = Calendar.from_ical(client.get(url).content).walk("VEVENT")
        assert str(event["summary"]) == summary
    etag = client.get("/api/v1/clinic", headers=admin.headers).headers["etag"]
    bad = client.patch("/api/v1/clinic", json={"calendar_feed_detail": "everything"},
                       headers={**admin.headers, "If-Match": etag})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "calendar_feed_detail"


def test_a_new_url_or_a_revocation_ends_the_old_one(client, staff):
    admin, therapist, other = staff("admin"), staff("therapist"), staff("therapist")
    old = _feed(client, admin, therapist)
    new = _feed(client, admin, therapist)
    assert client.get(old).status_code == 404 and client.get(new).status_code == 200
    assert client.get("/ical/icf_guessed").status_code == 404
    assert client.post(f"/api/v1/therapists/{therapist.id}/calendar-feed", headers=other.headers).status_code == 403
    assert client.delete(f"/api/v1/therapists/{therapist.id}/calendar-feed", headers=therapist.headers
                         ).status_code == 204
    assert client.get(new).status_code == 404
    assert client.delete(f"/api/v1/therapists/{therapist.id}/calendar-feed", headers=admin.headers
                         ).status_code == 404
