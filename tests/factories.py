"""Small helpers that set the scene: staff with tokens, patients, valid health card numbers."""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pwdlib.hashers.argon2 import Argon2Hasher

from app.auth import tokens
from app.kit import audit
from app.kit.actor import SYSTEM_ACTOR
from app.models.user import User

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


@lru_cache
def password_hash() -> str:
    """The shared test password, hashed once per run as Argon2id at its lightest settings.

    The app checks a password against the parameters stored in its hash, so signing in as these users runs the
    app's real verification at a fraction of the cost: at the app's own settings (64 MiB, three passes, four
    lanes) each sign-in took about 0.13 s, about a minute of every run. Hashes the app makes itself (a new
    account, a changed password) keep the app's settings: tests/users checks those.
    """
    return Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


@dataclass
class Member:
    id: uuid.UUID
    email: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Staff:
    """`staff("therapist")` -> a stored user with a live bearer token."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def __call__(self, role: str = "therapist", *, email: str | None = None, active: bool = True,
                 authorized_to_needle: bool | None = None, registration_number: str | None = None,
                 roster_expires_on: date | None = None) -> Member:
        """A therapist is rostered to needle by default, with a roster that expires in a year."""
        n = next(_seq)
        needles = role == "therapist" if authorized_to_needle is None else authorized_to_needle
        email = email or f"{role}{n}@clinic.example"
        factory = self.app.state.sessionmaker
        with factory() as session, session.begin():
            user = User(email=email, full_name=f"{role.title()} {n}", role=role, password_hash=password_hash(),
                        registration_number=registration_number or (f"R{n:05d}" if role == "therapist" or needles
                                                                     else None),
                        authorized_to_needle=needles, active=active,
                        roster_expires_on=roster_expires_on or (date.today() + timedelta(days=365) if needles
                                                                else None))
            session.add(user)
            session.flush()
            audit.record(session, SYSTEM_ACTOR, "create", resource_type="User", resource_id=user.id,
                         resource_version=user.version)
            raw, _ = tokens.issue(session, self.app.state.token_key, self.app.state.settings, user,
                                  client_ip=None, user_agent=None)
            return Member(user.id, email, role, raw)


def luhn_complete(nine_digits: str) -> str:
    """Append the check digit that makes a valid Ontario health number."""
    for check in "0123456789":
        candidate = nine_digits + check
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def patient_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"given_name": "Margaret", "family_name": "Lindqvist", "birth_date": "1961-04-17",
                            "sex_at_birth": "female", "phone": "416-555-0134", "email": "m.lindqvist@example.com",
                            "address": {"lines": ["12 Queen St W"], "city": "Toronto", "province": "ON",
                                        "postal_code": "M5H 2N2"}}
    body.update(overrides)
    return body


def make_patient(client: TestClient, member: Member, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/patients", json=patient_body(**overrides), headers=member.headers)
    assert response.status_code == 201, response.text
    return response.json()


def rename_after_marker(client: TestClient, member: Member, patient: dict[str, Any]) -> datetime:
    """A moment, then a change to the patient after it (preferred name "Maggie"): for `since` filters."""
    marker = datetime.now(UTC)
    time.sleep(0.01)
    changed = client.patch(f"/api/v1/patients/{patient['id']}", json={"preferred_name": "Maggie"},
                           headers={**member.headers, "If-Match": f'W/"{patient["version"]}"'})
    assert changed.status_code == 200, changed.text
    return marker


def join_care_team(client: TestClient, by: Member, patient_id: str, member: Member) -> dict[str, Any]:
    """`by` (front desk, admin or a team member) puts `member` on the patient's care team (README "Access policy")."""
    response = client.post(f"/api/v1/patients/{patient_id}/care-team", json={"user_id": str(member.id)},
                           headers=by.headers)
    assert response.status_code in (200, 201), response.text
    return response.json()
