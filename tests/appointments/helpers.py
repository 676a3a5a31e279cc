"""The appointment book's scene: a therapist working weekdays 09:00-17:00 (lunch 12-13) in Toronto."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Member

INITIAL = "018f0000-0000-7000-8000-0000000a0001"  # "Initial Gunn assessment", 60 min (seeded)
IMS = "018f0000-0000-7000-8000-0000000a0002"      # "IMS treatment", 30 min (seeded)
WEEKDAY_HOURS = {day: [{"start": "09:00", "end": "17:00"}] for day in ("mon", "tue", "wed", "thu", "fri")}
LUNCH = {day: [{"start": "12:00", "end": "13:00"}] for day in ("mon", "tue", "wed", "thu", "fri")}


def set_hours(client: TestClient, admin: Member, therapist: Member, **overrides: Any) -> dict[str, Any]:
    body = {"hours": WEEKDAY_HOURS, "breaks": LUNCH, **overrides}
    response = client.put(f"/api/v1/therapists/{therapist.id}/schedule", json=body, headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


def booking(patient_id: str, therapist: Member, start: str, type_id: str = IMS, **overrides: Any) -> dict[str, Any]:
    return {"patient_id": patient_id, "therapist_id": str(therapist.id), "type_id": type_id, "start": start,
            **overrides}


def book(client: TestClient, member: Member, patient_id: str, therapist: Member, start: str, **overrides: Any
         ) -> dict[str, Any]:
    response = client.post("/api/v1/appointments", json=booking(patient_id, therapist, start, **overrides),
                           headers=member.headers)
    assert response.status_code == 201, response.text
    return response.json()


def step(client: TestClient, member: Member, appt: dict[str, Any], action: str, json: Any = None,
         expect: int = 200, **query: str) -> dict[str, Any]:
    response = client.post(f"/api/v1/appointments/{appt['id']}/{action}", json=json, params=query,
                           headers={**member.headers, "If-Match": f'W/"{appt["version"]}"'})
    assert response.status_code == expect, response.text
    return response.json()
