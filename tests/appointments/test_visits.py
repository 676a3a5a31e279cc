"""Visits tie the record together: notes name their appointment, the worklist, the chart, the feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.appointments.helpers import INITIAL, book, step
from tests.assessments.helpers import assessment_body, open_episode
from tests.factories import join_care_team, make_patient
from tests.treatments.helpers import consent, screen, session_body


def _today(hours: float = -1) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0).isoformat()


def _visit(client, desk, therapist, patient_id, hours: float = -1, **kw):
    appt = book(client, desk, patient_id, therapist, _today(hours), override_hours=True, **kw)
    return step(client, desk, appt, "arrive")


def test_a_completed_visit_is_on_the_worklist_until_its_note_is_signed(client, staff):
    therapist, reception, other = staff("therapist"), staff("reception"), staff("therapist")
    patient = make_patient(client, reception)
    join_care_team(client, reception, patient["id"], therapist)  # the visit's therapist treats
    episode = open_episode(client, therapist, patient["id"])
    consent(client, therapist, patient["id"])
    consent(client, therapist, patient["id"], kind="electrical_stimulation")
    screen(client, therapist, patient["id"])
    visit = step(client, therapist, _visit(client, reception, therapist, patient["id"]), "complete")
    worklist = client.get("/api/v1/worklists/unsigned-notes", headers=therapist.headers).json()["items"]
    assert [w["appointment"]["id"] for w in worklist] == [visit["id"]]
    assert client.get("/api/v1/worklists/unsigned-notes", headers=other.headers).json()["items"] == []  # their own
    assert client.get("/api/v1/worklists/unsigned-notes", headers=reception.headers).status_code == 403
    draft = client.post(f"/api/v1/patients/{patient['id']}/treatments",
                        json=session_body(episode["id"], appointment_id=visit["id"], needles_removed=6),
                        headers=therapist.headers)
    assert draft.status_code == 201, draft.text
    assert draft.json()["appointment_id"] == visit["id"]
    still = client.get("/api/v1/worklists/unsigned-notes", headers=therapist.headers).json()["items"]
    assert len(still) == 1  # a draft is not a signed note
    signed = client.post(f"/api/v1/treatments/{draft.json()['id']}/sign", headers=therapist.headers)
    assert signed.status_code == 200, signed.text
    assert client.get("/api/v1/worklists/unsigned-notes", headers=therapist.headers).json()["items"] == []


def test_an_assessment_can_document_a_visit_too(client, staff):
    therapist, admin = staff("therapist"), staff("admin")
    patient = make_patient(client, admin)
    join_care_team(client, admin, patient["id"], therapist)  # the visit's therapist treats
    episode = open_episode(client, therapist, patient["id"])
    visit = step(client, therapist, _visit(client, admin, therapist, patient["id"], type_id=INITIAL), "complete")
    everyone = client.get("/api/v1/worklists/unsigned-notes", params={"therapist": str(therapist.id)},
                          headers=admin.headers).json()["items"]
    assert [w["appointment"]["id"] for w in everyone] == [visit["id"]]
    body = assessment_body(episode["id"], appointment_id=visit["id"])
    created = client.post(f"/api/v1/patients/{patient['id']}/assessments", json=body, headers=therapist.headers)
    assert created.status_code == 201, created.text and created.json()["appointment_id"] == visit["id"]
    client.post(f"/api/v1/assessments/{created.json()['id']}/sign", headers=therapist.headers)
    assert client.get("/api/v1/worklists/unsigned-notes", headers=admin.headers).json()["items"] == []


def test_a_note_may_not_name_another_patients_or_a_cancelled_visit(client, staff):
    therapist, admin = staff("therapist"), staff("admin")
    patient, stranger = make_patient(client, admin), make_patient(client, admin, given_name="Someone")
    join_care_team(client, admin, patient["id"], therapist)  # the visit's therapist treats
    episode = open_episode(client, therapist, patient["id"])
    theirs = book(client, admin, stranger["id"], therapist, _today(2), override_hours=True)
    mine = book(client, admin, patient["id"], therapist, _today(4), override_hours=True)
    step(client, admin, mine, "cancel", json={"reason": "x", "cancelled_by": "clinic"})
    for appt_id, message in ((theirs["id"], "no such appointment"), (mine["id"], "cancelled"),
                             ("00000000-0000-0000-0000-000000000000", "no such appointment")):
        response = client.post(f"/api/v1/patients/{patient['id']}/assessments",
                               json=assessment_body(episode["id"], appointment_id=appt_id), headers=therapist.headers)
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert error["field"] == "appointment_id" and message in error["message"]


def test_the_chart_shows_upcoming_and_past_visits_with_their_notes(client, staff):
    therapist, admin = staff("therapist"), staff("admin")
    patient = make_patient(client, admin)
    join_care_team(client, admin, patient["id"], therapist)  # the visit's therapist treats
    episode = open_episode(client, therapist, patient["id"])
    past = step(client, therapist, _visit(client, admin, therapist, patient["id"], hours=-30), "complete")
    missed = book(client, admin, patient["id"], therapist, _today(-50), override_hours=True)
    step(client, admin, missed, "no-show")
    coming = book(client, admin, patient["id"], therapist, _today(48), override_hours=True)
    note = client.post(f"/api/v1/patients/{patient['id']}/assessments",
                       json=assessment_body(episode["id"], appointment_id=past["id"]), headers=therapist.headers).json()
    chart = client.get(f"/api/v1/patients/{patient['id']}/chart", headers=therapist.headers).json()
    assert [v["id"] for v in chart["upcoming_visits"]] == [coming["id"]]
    assert [(v["id"], v["status"]) for v in chart["past_visits"]] == [(past["id"], "completed"),
                                                                        (missed["id"], "no_show")]
    assert chart["past_visits"][0]["notes"] == [{"kind": "assessment", "id": note["id"], "status": "draft"}]


def test_appointments_are_on_the_changes_feed_and_webhooks(client, staff, db):
    admin, therapist = staff("admin"), staff("therapist")
    hook = client.post("/api/v1/webhooks", json={"url": "https://127.0.0.1/h", "event_types": [
        "appointment.booked", "appointment.cancelled", "appointment.no_show"], "scopes": ["appointments:read"]},
        headers=admin.headers)
    assert hook.status_code == 201, hook.text
    patient = make_patient(client, admin)
    join_care_team(client, admin, patient["id"], therapist)  # the visit's therapist treats
    appt = book(client, admin, patient["id"], therapist, _today(-3), override_hours=True)
    step(client, admin, appt, "no-show")
    other = book(client, admin, patient["id"], therapist, _today(30), override_hours=True)
    client.patch(f"/api/v1/appointments/{other['id']}", json={"start": _today(40), "override_hours": True},
                 headers={**admin.headers, "If-Match": 'W/"1"'})
    feed = client.get("/api/v1/changes", params={"types": "appointment"}, headers=admin.headers).json()["items"]
    assert [(c["resource_id"], c["change"]) for c in feed] == [
        (appt["id"], "booked"), (appt["id"], "no_show"), (other["id"], "booked"), (other["id"], "rescheduled")]
    deliveries = client.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries", headers=admin.headers).json()
    # subscribed to booked, cancelled and no_show: the reschedule is not sent
    assert sorted(d["event_type"] for d in deliveries["items"]) == [
        "appointment.booked", "appointment.booked", "appointment.no_show"]
    reception_feed = client.get("/api/v1/changes", params={"types": "appointment"},
                                headers=staff("reception").headers).json()["items"]
    assert len(reception_feed) == 4  # appointments:read is enough


def test_every_appointment_event_reaches_the_feed_and_a_webhook_subscribed_to_all_five(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    events = ["appointment.booked", "appointment.cancelled", "appointment.rescheduled", "appointment.no_show",
              "appointment.completed"]
    hook = client.post("/api/v1/webhooks", json={"url": "https://127.0.0.1/h", "event_types": events,
                                                 "scopes": ["appointments:read"]}, headers=admin.headers)
    assert hook.status_code == 201, hook.text
    patient = make_patient(client, admin)
    join_care_team(client, admin, patient["id"], therapist)
    done = book(client, admin, patient["id"], therapist, _today(-5), override_hours=True)
    moved = client.patch(f"/api/v1/appointments/{done['id']}", json={"start": _today(-4), "override_hours": True},
                         headers={**admin.headers, "If-Match": f'W/"{done["version"]}"'})
    assert moved.status_code == 200, moved.text
    step(client, therapist, step(client, admin, moved.json()["items"][0], "arrive"), "complete")
    cancelled = book(client, admin, patient["id"], therapist, _today(30), override_hours=True)
    step(client, admin, cancelled, "cancel", json={"reason": "Flu", "cancelled_by": "patient"})
    missed = step(client, admin, book(client, admin, patient["id"], therapist, _today(-2), override_hours=True),
                  "no-show")
    feed = client.get("/api/v1/changes", params={"types": "appointment"}, headers=admin.headers).json()["items"]
    assert {(c["resource_id"], c["change"]) for c in feed} >= {
        (done["id"], "booked"), (done["id"], "rescheduled"), (done["id"], "completed"),
        (cancelled["id"], "booked"), (cancelled["id"], "cancelled"), (missed["id"], "no_show")}
    deliveries = client.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries", headers=admin.headers).json()
    assert sorted({d["event_type"] for d in deliveries["items"]}) == sorted(events)
