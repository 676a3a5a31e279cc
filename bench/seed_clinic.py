"""Seed a realistic clinic for the load benchmark, through the real API in-process (no server needed).

Every chart is written by the same code paths a clinic uses, so each record carries its revisions, change
events and audit rows: a patient, an open episode, IMS and e-stim consents, a precaution screen, a signed and
amended assessment, `treatments` signed IMS sessions of six needles each and two outcome administrations.
Staff are four needling therapists (each owns a quarter of the patients), a receptionist, an admin and one
integration API key that follows the changes feed.

Seeding goes through the in-process app (FastAPI's TestClient), one durable commit per request: ~25 requests
per chart, so 300 charts take a minute or two and 20,000 take tens of minutes on a small machine.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient

from app.auth import tokens
from app.auth.passwords import hash_password
from app.config import Settings
from app.kit import audit
from app.kit.actor import SYSTEM_ACTOR
from app.main import create_app
from app.models.user import User

RISKS = ["pneumothorax", "bleeding_bruising", "post_needling_soreness", "fainting", "infection",
         "nerve_irritation", "needle_breakage", "drowsiness"]
E_STIM = {"frequency_hz": 2, "pulse_width_us": 250, "intensity_ma": 4, "duration_min": 10, "waveform": "biphasic",
          "device": "ITO ES-130"}
FAMILY = ["Lindqvist", "Okafor", "Tremblay", "Nakamura", "Gagnon", "Singh", "MacLeod", "Rossi", "Kowalski",
          "Haddad", "Nguyen", "Fraser", "Dubois", "Chen", "Oyelaran", "Petrov", "Morrison", "Bouchard"]
GIVEN = ["Margaret", "Ahmed", "Chloe", "Hiroshi", "Isabelle", "Priya", "Angus", "Lucia", "Tomasz", "Rania"]


def needle(muscle: str, *, e_stim: bool = False, **extra: Any) -> dict[str, Any]:
    return {"muscle": muscle, "level": "L5", "side": "left", "gauge_mm": 0.25, "length_mm": 40,
            "lot_number": "LOT-7781", "insertions": 3, "depth_mm": 25, "technique": "pistoning",
            "responses": ["local_twitch"], "e_stim": E_STIM if e_stim else None, **extra}


def treatment_body(episode_id: str, pre: int = 7) -> dict[str, Any]:
    needles = [needle("multifidus_l5", kind="paraspinal", e_stim=True),
               needle("multifidus_s1", kind="paraspinal", e_stim=True),
               needle("gluteus_medius", kind="peripheral"), needle("tibialis_anterior"),
               needle("extensor_hallucis_longus", insertions=2), needle("peroneus_longus", responses=["grasp"])]
    return {"episode_id": episode_id, "position": "prone", "pre_pain_nprs": pre, "post_pain_nprs": max(0, pre - 3),
            "tolerance": "good", "needles": needles, "e_stim_leads": [{"needles": [0, 1]}],  # the two paraspinals
            "needles_inserted": 6, "needles_removed": 6, "verbal_consent_today": True,
            "sharps_disposed": True, "retest": "SLR 60 -> 75 degrees", "after_care": "Heat, gentle walking",
            "plan": "Weekly IMS", "next_visit": "2026-12-01"}


def assessment_body(episode_id: str) -> dict[str, Any]:
    return {
        "episode_id": episode_id,
        "subjective": {"chief_complaint": "Left buttock and leg pain for 3 months",
                       "pain_locations": ["left buttock", "left lateral leg"], "aggravating_factors": ["sitting"],
                       "easing_factors": ["walking"],
                       "red_flags": {"cauda_equina_symptoms": False, "history_of_cancer": False}},
        "imaging_notes": "L4-5 and L5-S1 disc space narrowing (spondylosis)",
        "findings": [{"level": "L5", "side": "left",
                      "muscle_shortening": [{"muscle": "gluteus_medius", "severity": 2},
                                            {"muscle": "tibialis_anterior", "severity": 2}]}],
        "impression": [{"level": "L5", "side": "left"}],
        "plan": "IMS weekly: gluteals, tibialis anterior, L5-S1 paraspinals",
    }


@dataclass
class Clinic:
    """What the load generator needs: credentials and the ids of the seeded records."""

    therapists: list[str] = field(default_factory=list)  # bearer tokens
    reception: str = ""
    admin: str = ""
    integrator: str = ""  # API key with patients:read + clinical:read
    patients: list[dict[str, Any]] = field(default_factory=list)  # {id, owner, episode, treatments, family}


def settings_for(url: str, secret: str, data_dir: Path) -> Settings:
    return Settings(env="development", database_url=url, secret_key=secret, data_dir=data_dir,  # type: ignore[arg-type]
                    token_idle_minutes=24 * 60, token_max_hours=24 * 7, worker_in_process=False, _env_file=None)


def _staff(app: Any, role: str, n: int) -> tuple[str, str]:
    with app.state.sessionmaker() as session, session.begin():
        user = User(email=f"{role}{n}@bench.example", full_name=f"{role.title()} {n}", role=role,
                    password_hash=hash_password("bench horse battery staple"),
                    registration_number=f"R{n:05d}" if role == "therapist" else None,
                    roster_expires_on=date(2099, 12, 31) if role == "therapist" else None,
                    authorized_to_needle=role == "therapist", active=True)
        session.add(user)
        session.flush()
        audit.record(session, SYSTEM_ACTOR, "create", resource_type="User", resource_id=user.id,
                     resource_version=user.version)
        raw, _ = tokens.issue(session, app.state.token_key, app.state.settings, user, client_ip=None, user_agent=None)
        return raw, str(user.id)


def _ok(response: Any, expected: int = 201) -> dict[str, Any]:
    if response.status_code != expected:
        raise SystemExit(f"seeding failed: {response.request.method} {response.request.url} -> "
                         f"{response.status_code} {response.text[:400]}")
    body: dict[str, Any] = response.json()
    return body


def seed(url: str, secret: str, data_dir: Path, patients: int, treatments: int = 6, progress: bool = True) -> Clinic:
    from app import migrate

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per seeding request otherwise
    migrate.upgrade(url)
    app = create_app(settings_for(url, secret, data_dir))
    clinic = Clinic()
    clinic.therapists = [_staff(app, "therapist", i)[0] for i in range(1, 5)]
    clinic.reception = _staff(app, "reception", 1)[0]
    clinic.admin = _staff(app, "admin", 1)[0]
    started = time.monotonic()
    with TestClient(app) as client:
        key = _ok(client.post("/api/v1/api-clients", headers=_h(clinic.admin), json={
            "name": "Bench booking sync", "scopes": ["patients:read", "clinical:read"],
            "rate_limit_per_minute": 100_000}))
        clinic.integrator = key["key"]
        for i in range(patients):
            clinic.patients.append(_chart(client, clinic, i, treatments))
            if progress and (i + 1) % 50 == 0:
                rate = (i + 1) / (time.monotonic() - started)
                print(f"  seeded {i + 1}/{patients} charts ({rate:.1f}/s)", file=sys.stderr, flush=True)
    app.state.engine.dispose()
    return clinic


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _chart(client: TestClient, clinic: Clinic, i: int, treatments: int) -> dict[str, Any]:
    owner = i % len(clinic.therapists)
    h = _h(clinic.therapists[owner])
    family = FAMILY[i % len(FAMILY)] + ("" if i < len(FAMILY) else f"{i}")
    patient = _ok(client.post("/api/v1/patients", headers=h, json={
        "given_name": GIVEN[i % len(GIVEN)], "family_name": family, "birth_date": f"19{40 + i % 60}-04-17",
        "sex_at_birth": "female" if i % 2 else "male", "phone": f"416-555-{i % 10000:04d}",
        "email": f"p{i}@example.com", "address": {"lines": ["12 Queen St W"], "city": "Toronto", "province": "ON",
                                                  "postal_code": "M5H 2N2"}}))
    pid = patient["id"]
    episode = _ok(client.post(f"/api/v1/patients/{pid}/episodes", headers=h, json={
        "conditions": ["sciatica"], "side": "left", "onset_date": "2026-09-01", "referral_source": "Family physician",
        "goals": ["Walk 30 minutes without leg pain"], "planned_frequency": "weekly"}))
    for kind in ("ims_dry_needling", "electrical_stimulation"):
        _ok(client.post(f"/api/v1/patients/{pid}/consents", headers=h, json={
            "kind": kind, "method": "written", "form_version": "IMS-2026-01", "risks_discussed": RISKS}))
    _ok(client.post(f"/api/v1/patients/{pid}/screenings", headers=h, json={}))
    assessment = _ok(client.post(f"/api/v1/patients/{pid}/assessments", headers=h,
                                 json=assessment_body(episode["id"])))
    _ok(client.post(f"/api/v1/assessments/{assessment['id']}/sign", headers=h), 200)
    _ok(client.post(f"/api/v1/assessments/{assessment['id']}/amendments", headers=h,
                    json={"reason": "plan agreed with patient", "changes": {"plan": "IMS fortnightly"}}))
    done = []
    for n in range(treatments):
        t = _ok(client.post(f"/api/v1/patients/{pid}/treatments", headers=h,
                            json=treatment_body(episode["id"], pre=8 - n % 5)))
        _ok(client.post(f"/api/v1/treatments/{t['id']}/sign", headers=h), 200)
        done.append(t["id"])
    for instrument, responses in (("odi", [3] * 10), ("nprs", [5])):
        _ok(client.post(f"/api/v1/patients/{pid}/outcomes", headers=h,
                        json={"instrument": instrument, "responses": responses, "episode_id": episode["id"]}))
    return {"id": pid, "owner": owner, "episode": episode["id"], "treatments": done, "family": family,
            "assessment": assessment["id"]}
