"""The clinic profile: anyone reads it, the admin edits it with If-Match, and its time zone defines "today"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.models import AuditEvent
from tests.factories import patient_body

CLINIC = "/api/v1/clinic"


def test_defaults_and_an_audited_edit(client, staff, db):
    admin, reception = staff("admin"), staff("reception")
    clinic = client.get(CLINIC, headers=reception.headers)
    assert clinic.status_code == 200
    assert clinic.json()["time_zone"] == "America/Toronto" and clinic.json()["screening_recheck_days"] == 0
    etag = clinic.headers["etag"]
    changed = client.patch(CLINIC, json={"name": "Gunn IMS Physio", "time_zone": "America/Vancouver",
                                         "phone": "604 555 0100"}, headers={**admin.headers, "If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert changed.json()["time_zone"] == "America/Vancouver" and changed.headers["etag"] != etag
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.resource_type == "Clinic",
                                                  AuditEvent.action == "update")).all()
    assert event.actor_id == admin.id and event.detail == {"fields": ["name", "phone", "time_zone"]}


def test_if_match_is_required_and_checked(client, staff):
    admin = staff("admin")
    assert client.patch(CLINIC, json={"name": "X"}, headers=admin.headers).status_code == 428
    assert client.patch(CLINIC, json={"name": "X"}, headers={**admin.headers, "If-Match": 'W/"99"'}).status_code == 412


def test_invalid_values_name_the_field(client, staff):
    admin = staff("admin")
    etag = client.get(CLINIC, headers=admin.headers).headers["etag"]
    for body, field in (({"time_zone": "Mars/Olympus"}, "time_zone"), ({"name": None}, "name"),
                        ({"screening_recheck_days": -1}, "screening_recheck_days"), ({"id": 7}, "id")):
        response = client.patch(CLINIC, json=body, headers={**admin.headers, "If-Match": etag})
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field


def test_today_is_the_clinics_date_not_the_servers(client, staff):
    """Birth dates are checked against the clinic's calendar. At any hour, UTC's date differs from
    Kiritimati's (UTC+14) or Pago Pago's (UTC-11); the test uses whichever differs now."""
    admin = staff("admin")
    ahead = datetime.now(UTC).hour >= 10
    zone = "Pacific/Kiritimati" if ahead else "Pacific/Pago_Pago"
    local_today = datetime.now(ZoneInfo(zone)).date()
    assert local_today != datetime.now(UTC).date()
    etag = client.get(CLINIC, headers=admin.headers).headers["etag"]
    client.patch(CLINIC, json={"time_zone": zone}, headers={**admin.headers, "If-Match": etag})

    def register(day):
        return client.post("/api/v1/patients", json=patient_body(birth_date=day.isoformat()), headers=admin.headers)

    assert register(local_today).status_code == 201  # born today, clinic time
    tomorrow = register(local_today + timedelta(days=1))
    assert tomorrow.status_code == 422 and tomorrow.json()["errors"][0]["field"] == "birth_date"
    if not ahead:  # UTC's today is still tomorrow in Pago Pago
        assert register(datetime.now(UTC).date()).status_code == 422
