"""Other software books through API keys (appointments:read / appointments:write) and sends reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.models import AuditEvent
from tests.appointments.helpers import IMS, book, booking, set_hours, step
from tests.factories import make_patient
from tests.integrations.helpers import api_client, bearer

MON = "2027-02-01"


def test_a_booking_system_books_with_appointments_write_and_reads_with_read(client, staff, db):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    writer = bearer(api_client(client, admin, ["appointments:read", "appointments:write"])["key"])
    reader = bearer(api_client(client, admin, ["appointments:read"])["key"])
    demographics = bearer(api_client(client, admin, ["patients:read", "patients:write"])["key"])
    free = client.get("/api/v1/availability", params={"type": IMS, "from": f"{MON}T00:00:00-05:00",
                                                      "to": f"{MON}T23:59:00-05:00"}, headers=reader)
    assert free.status_code == 200 and free.json()["items"]
    slot = free.json()["items"][0]["start"]
    assert client.post("/api/v1/appointments", json=booking(patient["id"], therapist, slot),
                       headers=reader).status_code == 403
    assert client.post("/api/v1/appointments", json=booking(patient["id"], therapist, slot),
                       headers=demographics).status_code == 403
    made = client.post("/api/v1/appointments", json=booking(patient["id"], therapist, slot), headers=writer)
    assert made.status_code == 201, made.text
    assert client.get(f"/api/v1/appointments/{made.json()['id']}", headers=reader).status_code == 200
    assert client.get("/api/v1/worklists/unsigned-notes", headers=writer).status_code == 403  # clinical
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "book"))
    assert event.actor_type == "api_client"


def test_reminders_list_booked_visits_in_the_window_with_contact_details(client, staff):
    therapist, reception = staff("therapist"), staff("reception")
    reachable = make_patient(client, reception, phone="416-555-0100", email="a@example.com", reminder_consent=True)
    silent = make_patient(client, reception, given_name="Quiet", phone=None, email=None, reminder_consent=True)
    tomorrow = (datetime.now(UTC) + timedelta(hours=26)).replace(microsecond=0)
    first = book(client, reception, reachable["id"], therapist, tomorrow.isoformat(), override_hours=True)
    second = book(client, reception, silent["id"], therapist, (tomorrow + timedelta(hours=1)).isoformat(),
                  override_hours=True)
    dropped = book(client, reception, reachable["id"], therapist, (tomorrow + timedelta(hours=2)).isoformat(),
                   override_hours=True)
    step(client, reception, dropped, "cancel", json={"reason": "x", "cancelled_by": "patient"})
    book(client, reception, reachable["id"], therapist, (tomorrow + timedelta(days=3)).isoformat(),
         override_hours=True)  # outside the window
    window = {"from": (tomorrow - timedelta(hours=2)).isoformat(), "to": (tomorrow + timedelta(hours=22)).isoformat()}
    response = client.get("/api/v1/reminders", params=window, headers=reception.headers)
    assert response.status_code == 200, response.text
    items = response.json()
    assert [r["appointment"]["id"] for r in items] == [first["id"], second["id"]]
    assert items[0]["contact"]["phone"] == "416-555-0100" and items[0]["channels"] == ["sms", "phone", "email"]
    assert items[0]["can_remind"] is True and items[0]["reason"] is None
    assert items[1]["channels"] == [] and items[1]["can_remind"] is False
    assert items[1]["reason"] == "no phone number or e-mail address on file"
    too_long = {"from": window["from"], "to": (tomorrow + timedelta(days=20)).isoformat()}
    assert client.get("/api/v1/reminders", params=too_long, headers=reception.headers).status_code == 422


@pytest.mark.parametrize(("fields", "channels", "reason"), [
    ({}, [], "no consent to be contacted on file"),  # the default: nobody agreed to anything
    ({"contact_preference": "sms"}, [], "no consent to be contacted on file"),
    ({"reminder_consent": True}, ["sms", "phone", "email"], None),  # consent, no preference: whatever is on file
    ({"reminder_consent": True, "contact_preference": "email"}, ["email"], None),
    ({"reminder_consent": True, "contact_preference": "sms"}, ["sms"], None),
    ({"reminder_consent": True, "contact_preference": "none"}, [], "the patient asked not to be contacted"),
    ({"reminder_consent": True, "contact_preference": "email", "email": None}, [],
     "prefers email but has no e-mail address on file"),
    ({"reminder_consent": True, "contact_preference": "phone", "phone": None}, [],
     "prefers phone but has no phone number on file"),
])
def test_reminders_honour_preference_and_consent(client, staff, fields, channels, reason):
    therapist, reception = staff("therapist"), staff("reception")
    patient = make_patient(client, reception, **{"phone": "416-555-0100", "email": "a@example.com", **fields})
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    booked = book(client, reception, patient["id"], therapist, start.isoformat(), override_hours=True)
    window = {"from": (start - timedelta(hours=1)).isoformat(), "to": (start + timedelta(hours=1)).isoformat()}
    response = client.get("/api/v1/reminders", params=window, headers=reception.headers)
    assert response.status_code == 200, response.text
    [item] = response.json()  # listed whether or not the clinic may remind: the front desk can ask
    assert item["appointment"]["id"] == booked["id"]
    assert item["contact_preference"] == fields.get("contact_preference")
    assert item["reminder_consent"] is fields.get("reminder_consent", False)
    assert (item["channels"], item["can_remind"], item["reason"]) == (channels, bool(channels), reason)


def test_withdrawn_consent_stops_reminders(client, staff):
    therapist, reception = staff("therapist"), staff("reception")
    patient = make_patient(client, reception, phone="416-555-0100", reminder_consent=True, contact_preference="sms")
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    book(client, reception, patient["id"], therapist, start.isoformat(), override_hours=True)
    window = {"from": (start - timedelta(hours=1)).isoformat(), "to": (start + timedelta(hours=1)).isoformat()}
    assert client.get("/api/v1/reminders", params=window, headers=reception.headers).json()[0]["channels"] == ["sms"]
    withdrawn = client.patch(f"/api/v1/patients/{patient['id']}", json={"reminder_consent": False},
                             headers={**reception.headers, "If-Match": f'W/"{patient["version"]}"'})
    assert withdrawn.status_code == 200, withdrawn.text
    [item] = client.get("/api/v1/reminders", params=window, headers=reception.headers).json()
    assert (item["can_remind"], item["channels"]) == (False, [])
