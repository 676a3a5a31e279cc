"""An IMS visit: consent on file, a fresh screen, six needles across L5 with e-stim on two."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.assessments.helpers import open_episode
from tests.factories import Member, make_patient

RISKS = ["pneumothorax", "bleeding_bruising", "post_needling_soreness", "fainting", "infection",
         "nerve_irritation", "needle_breakage", "drowsiness"]


def consent(client: TestClient, member: Member, patient_id: str, kind: str = "ims_dry_needling",
            **overrides: Any) -> dict[str, Any]:
    body = {"kind": kind, "method": "written", "form_version": "IMS-2026-01", "risks_discussed": RISKS, **overrides}
    response = client.post(f"/api/v1/patients/{patient_id}/consents", json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    return response.json()


def screen(client: TestClient, member: Member, patient_id: str, **flags: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/patients/{patient_id}/screenings", json=flags, headers=member.headers)
    assert response.status_code == 201, response.text
    return response.json()


E_STIM = {"frequency_hz": 2, "pulse_width_us": 250, "intensity_ma": 4, "duration_min": 10, "waveform": "biphasic",
          "device": "ITO ES-130"}


def needle(muscle: str, level: str, *, e_stim: bool = False, **overrides: Any) -> dict[str, Any]:
    body = {"muscle": muscle, "level": level, "side": "left", "gauge_mm": 0.25, "length_mm": 40,
            "lot_number": "LOT-7781", "insertions": 3, "depth_mm": 25, "technique": "pistoning",
            "responses": ["local_twitch"], "e_stim": E_STIM if e_stim else None, **overrides}
    return body


def six_needles(e_stim: bool = True) -> list[dict[str, Any]]:
    return [
        needle("multifidus_l5", "L5", kind="paraspinal", e_stim=e_stim),
        needle("multifidus_s1", "L5", kind="paraspinal", e_stim=e_stim),
        needle("gluteus_medius", "L5", kind="peripheral"),
        needle("tibialis_anterior", "L5"),
        needle("extensor_hallucis_longus", "L5", insertions=2),
        needle("peroneus_longus", "L5", responses=["grasp", "cramping"]),
    ]


def leads_for(needles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pair the e-stim needles in order (an odd one out joins the previous pair's second needle)."""
    wired = [i for i, n in enumerate(needles) if n.get("e_stim")]
    pairs = [wired[k:k + 2] for k in range(0, len(wired) - 1, 2)]
    if len(wired) % 2 and len(wired) > 1:
        pairs.append([wired[-2], wired[-1]])
    return [{"needles": pair} for pair in pairs]


def session_body(episode_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"episode_id": episode_id, "position": "prone", "pre_pain_nprs": 7, "post_pain_nprs": 4,
                            "tolerance": "good", "needles": six_needles(), "needles_inserted": 6,
                            "sharps_disposed": True, "verbal_consent_today": True, "retest": "SLR 60 -> 75 degrees",
                            "after_care": "Heat, gentle walking", "plan": "Weekly IMS", "next_visit": "2026-12-01"}
    body.update(overrides)
    if "e_stim_leads" not in overrides:
        body["e_stim_leads"] = leads_for(body["needles"])
    return body


def ready_patient(client: TestClient, therapist: Member, *, e_stim_consent: bool = True, **screen_flags: Any
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    consent(client, therapist, patient["id"])
    if e_stim_consent:
        consent(client, therapist, patient["id"], kind="electrical_stimulation")
    screen(client, therapist, patient["id"], **screen_flags)
    return patient, episode


def record_session(client: TestClient, therapist: Member, patient_id: str, episode_id: str, **overrides: Any) -> Any:
    return client.post(f"/api/v1/patients/{patient_id}/treatments", json=session_body(episode_id, **overrides),
                       headers=therapist.headers)
