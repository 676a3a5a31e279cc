"""The story of an IMS visit: a sciatica episode and an L5/S1 left assessment."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Member, make_patient


def open_episode(client: TestClient, therapist: Member, patient_id: str, **overrides: Any) -> dict[str, Any]:
    body = {"conditions": ["sciatica"], "side": "left", "onset_date": "2026-09-01",
            "referral_source": "Family physician", "goals": ["Walk 30 minutes without leg pain"],
            "planned_frequency": "weekly", **overrides}
    response = client.post(f"/api/v1/patients/{patient_id}/episodes", json=body, headers=therapist.headers)
    assert response.status_code == 201, response.text
    return response.json()


def sciatica_findings() -> list[dict[str, Any]]:
    return [
        {"level": "L5", "side": "left",
         "muscle_shortening": [{"muscle": "gluteus_medius", "severity": 2},
                               {"muscle": "tibialis_anterior", "severity": 3},
                               {"muscle": "multifidus_l5", "severity": 2}],
         "tender_points": [{"muscle": "gluteus_medius", "severity": 3, "motor_point": True,
                            "algometry_kg_cm2": 2.5}],
         "skin_changes": {"trophedema": True, "dermatomal_hyperalgesia": True},
         "paraspinal_tenderness": True,
         "rom": [{"movement": "lumbar flexion", "percent_of_normal": 60}]},
        {"level": "S1", "side": "left",
         "muscle_shortening": [{"muscle": "gastrocnemius", "severity": 1}],
         "tender_points": [{"muscle": "gastrocnemius", "severity": 2}]},
    ]


def assessment_body(episode_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "episode_id": episode_id,
        "subjective": {"chief_complaint": "Left buttock and leg pain for 3 months",
                       "pain_locations": ["left buttock", "left lateral leg"],
                       "aggravating_factors": ["sitting"], "easing_factors": ["walking"],
                       "red_flags": {"cauda_equina_symptoms": False, "history_of_cancer": False}},
        "imaging_notes": "L4-5 and L5-S1 disc space narrowing (spondylosis)",
        "findings": sciatica_findings(),
        "impression": [{"level": "L5", "side": "left"}, {"level": "S1", "side": "left"}],
        "plan": "IMS weekly: gluteals, tibialis anterior, L5-S1 paraspinals",
    }
    body.update(overrides)
    return body


def chart_visit(client: TestClient, therapist: Member, **overrides: Any) -> tuple[dict, dict, dict]:
    """patient, episode, draft assessment."""
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    response = client.post(f"/api/v1/patients/{patient['id']}/assessments",
                           json=assessment_body(episode["id"], **overrides), headers=therapist.headers)
    assert response.status_code == 201, response.text
    return patient, episode, response.json()


def sign(client: TestClient, member: Member, assessment_id: str) -> Any:
    return client.post(f"/api/v1/assessments/{assessment_id}/sign", headers=member.headers)
