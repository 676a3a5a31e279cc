"""The scene the page tests share (TestClient and the real browser alike): a patient ready for today's IMS
visit — consent, a current screen, an open episode, an appointment today — and signing in a browser session
with the form, as a person would."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.appointments.helpers import IMS
from tests.assessments.helpers import open_episode
from tests.factories import PASSWORD, Member, make_patient
from tests.treatments.helpers import consent, screen

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class Visit:
    patient: dict[str, Any]
    episode: dict[str, Any]
    appointment: dict[str, Any]

    @property
    def patient_id(self) -> str:
        return str(self.patient["id"])

    @property
    def name(self) -> str:
        return f"{self.patient['given_name']} {self.patient['family_name']}"


def today_start(client: httpx.Client, member: Member) -> str:
    """A start time on the clinic's today (its own time zone), whatever the hour the tests run."""
    zone = ZoneInfo(client.get("/api/v1/clinic", headers=member.headers).json()["time_zone"])
    now = datetime.now(zone).replace(second=0, microsecond=0)
    earlier = now - timedelta(minutes=30)
    start = earlier if earlier.date() == now.date() else now + timedelta(minutes=1)
    return start.astimezone(UTC).isoformat()


def seed_visit(client: httpx.Client, therapist: Member, desk: Member, *, family_name: str = "Lindqvist",
               **screen_flags: Any) -> Visit:
    """Patient + IMS and e-stim consents + current screen (flags as given) + open episode + a visit today."""
    patient = make_patient(client, therapist, family_name=family_name)  # type: ignore[arg-type]
    episode = open_episode(client, therapist, patient["id"])  # type: ignore[arg-type]
    consent(client, therapist, patient["id"])  # type: ignore[arg-type]
    consent(client, therapist, patient["id"], kind="electrical_stimulation")  # type: ignore[arg-type]
    screen(client, therapist, patient["id"], **screen_flags)  # type: ignore[arg-type]
    booked = client.post("/api/v1/appointments", headers=desk.headers, json={
        "patient_id": patient["id"], "therapist_id": str(therapist.id), "type_id": IMS,
        "start": today_start(client, desk), "override_hours": True})
    assert booked.status_code == 201, booked.text
    return Visit(patient, episode, booked.json())


def sign_in(client: httpx.Client, member: Member, password: str = PASSWORD, next_path: str = "/app"
            ) -> httpx.Response:
    """Fill in and send the sign-in form; returns the (not followed) answer: 303 on success."""
    form = client.get("/app/login")
    assert form.status_code == 200, form.text
    token = CSRF_INPUT.search(form.text)
    assert token, form.text
    return client.post("/app/login", data={"email": member.email, "password": password,
                                           "csrf_token": token.group(1), "next": next_path},
                       follow_redirects=False)


def page_csrf(html: str) -> str:
    found = CSRF_META.search(html)
    assert found, html
    return found.group(1)
