"""Every assessment and episode route leaves an audit row naming the action, the resource and the patient."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from app.models import AuditEvent
from tests.assessments.helpers import assessment_body, chart_visit, open_episode, sign


@dataclass
class Scene:
    patient: dict[str, Any]
    episode: dict[str, Any]
    draft: dict[str, Any]
    signed: dict[str, Any]


@dataclass
class Step:
    method: str
    path: Callable[[Scene], str]
    action: str
    resource_type: str
    resource: Callable[[Scene], str | None]  # the audited resource id (None for a search)
    status: int = 200
    json: Callable[[Scene], Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


V1 = {"If-Match": 'W/"1"'}
STEPS = {
    "list assessments": Step("GET", lambda s: f"/api/v1/patients/{s.patient['id']}/assessments", "search",
                             "Assessment", lambda s: None),
    "create assessment": Step("POST", lambda s: f"/api/v1/patients/{s.patient['id']}/assessments", "create",
                              "Assessment", lambda s: None, 201, lambda s: assessment_body(s.episode["id"])),
    "read assessment": Step("GET", lambda s: f"/api/v1/assessments/{s.draft['id']}", "read", "Assessment",
                            lambda s: s.draft["id"]),
    "segmental map": Step("GET", lambda s: f"/api/v1/assessments/{s.signed['id']}/segmental-map.svg", "read",
                          "Assessment", lambda s: s.signed["id"]),
    "segmental summary": Step("GET", lambda s: f"/api/v1/assessments/{s.signed['id']}/segmental-summary", "read",
                              "Assessment", lambda s: s.signed["id"]),
    "history": Step("GET", lambda s: f"/api/v1/assessments/{s.signed['id']}/history", "read_history",
                    "Assessment", lambda s: s.signed["id"]),
    "one revision": Step("GET", lambda s: f"/api/v1/assessments/{s.signed['id']}/history/1", "read_history",
                         "Assessment", lambda s: s.signed["id"]),
    "update draft": Step("PATCH", lambda s: f"/api/v1/assessments/{s.draft['id']}", "update", "Assessment",
                         lambda s: s.draft["id"], json=lambda s: {"plan": "IMS weekly x6"}, headers=V1),
    "sign": Step("POST", lambda s: f"/api/v1/assessments/{s.draft['id']}/sign", "sign", "Assessment",
                 lambda s: s.draft["id"]),
    "amend": Step("POST", lambda s: f"/api/v1/assessments/{s.signed['id']}/amendments", "amend", "Assessment",
                  lambda s: s.signed["id"], 201,
                  lambda s: {"reason": "plan agreed with patient", "changes": {"plan": "IMS fortnightly"}}),
    "discard": Step("DELETE", lambda s: f"/api/v1/assessments/{s.draft['id']}", "discard", "Assessment",
                    lambda s: s.draft["id"], 204),
    "list episodes": Step("GET", lambda s: f"/api/v1/patients/{s.patient['id']}/episodes", "search", "Episode",
                          lambda s: None),
    "create episode": Step("POST", lambda s: f"/api/v1/patients/{s.patient['id']}/episodes", "create", "Episode",
                           lambda s: None, 201, lambda s: {"conditions": ["low_back_pain"]}),
    "read episode": Step("GET", lambda s: f"/api/v1/episodes/{s.episode['id']}", "read", "Episode",
                         lambda s: s.episode["id"]),
    "update episode": Step("PATCH", lambda s: f"/api/v1/episodes/{s.episode['id']}", "update", "Episode",
                           lambda s: s.episode["id"], json=lambda s: {"goals": ["Sit 1 hour"]}, headers=V1),
    "discharge episode": Step("POST", lambda s: f"/api/v1/episodes/{s.episode['id']}/discharge", "discharge",
                              "Episode", lambda s: s.episode["id"],
                              json=lambda s: {"discharge_reason": "goals_met"}),
}


@pytest.mark.parametrize("name", list(STEPS))
def test_every_route_writes_an_audit_row(client, staff, db, name):
    therapist = staff("therapist")
    patient, _, signed = chart_visit(client, therapist)
    assert sign(client, therapist, signed["id"]).status_code == 200
    episode = open_episode(client, therapist, patient["id"])
    draft = client.post(f"/api/v1/patients/{patient['id']}/assessments", json=assessment_body(episode["id"]),
                        headers=therapist.headers).json()
    scene = Scene(patient, episode, draft, signed)
    step = STEPS[name]
    request_id = uuid.uuid4().hex
    response = client.request(step.method, step.path(scene), json=step.json(scene) if step.json else None,
                              headers={**therapist.headers, **step.headers, "X-Request-ID": request_id})
    assert response.status_code == step.status, response.text

    rows = db.scalars(select(AuditEvent).where(AuditEvent.request_id == request_id)).all()
    ours = [r for r in rows if r.resource_type == step.resource_type]
    assert [(r.action, r.outcome, str(r.patient_id), r.actor_id) for r in ours] == [
        (step.action, "success", patient["id"], therapist.id)], [(r.action, r.resource_type) for r in rows]
    expected_id = step.resource(scene)
    if expected_id is None and step.method == "POST":
        expected_id = response.json()["id"]
    assert ours[0].resource_id == expected_id
