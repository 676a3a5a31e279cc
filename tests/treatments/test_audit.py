"""Every read and write of consents, screens, sessions, outcomes, progress and the chart leaves an audit row."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.models import AuditEvent
from tests.treatments.helpers import ready_patient, record_session, six_needles

State = dict[str, Any]


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str  # formatted with the state: {pid}, {consent}, {screening}, {treatment}, {draft}, {episode}
    action: str
    resource_type: str
    body: Callable[[State], Any] | None = None
    if_match: bool = False
    keep: str | None = None  # remember the response's id under this name


CASES = [
    Case("create consent", "POST", "/api/v1/patients/{pid}/consents", "create", "Consent",
         body=lambda s: {"kind": "data_sharing", "method": "verbal"}, keep="consent"),
    Case("list consents", "GET", "/api/v1/patients/{pid}/consents", "search", "Consent"),
    Case("read consent", "GET", "/api/v1/patients/{pid}/consents/{consent}", "read", "Consent"),
    Case("withdraw consent", "POST", "/api/v1/patients/{pid}/consents/{consent}/withdraw", "withdraw", "Consent",
         body=lambda s: {"reason": "no longer shares data"}),
    Case("create screening", "POST", "/api/v1/patients/{pid}/screenings", "create", "Screening",
         body=lambda s: {"diabetes": True}, keep="screening"),
    Case("list screenings", "GET", "/api/v1/patients/{pid}/screenings", "search", "Screening"),
    Case("current screening", "GET", "/api/v1/patients/{pid}/screenings/current", "read", "Screening"),
    Case("read screening", "GET", "/api/v1/patients/{pid}/screenings/{screening}", "read", "Screening"),
    Case("create treatment", "POST", "/api/v1/patients/{pid}/treatments", "create", "Treatment",
         body=lambda s: {"episode_id": s["episode"], "needles": six_needles(e_stim=False)}, keep="treatment"),
    Case("list treatments", "GET", "/api/v1/patients/{pid}/treatments", "search", "Treatment"),
    Case("read treatment", "GET", "/api/v1/treatments/{treatment}", "read", "Treatment"),
    Case("update treatment", "PATCH", "/api/v1/treatments/{treatment}", "update", "Treatment",
         body=lambda s: {"needles_removed": 6, "sharps_disposed": True, "verbal_consent_today": True}, if_match=True),
    Case("sign treatment", "POST", "/api/v1/treatments/{treatment}/sign", "sign", "Treatment"),
    Case("amend treatment", "POST", "/api/v1/treatments/{treatment}/amendments", "amend", "Treatment",
         body=lambda s: {"reason": "post-treatment pain corrected", "changes": {"post_pain_nprs": 3}}),
    Case("treatment history", "GET", "/api/v1/treatments/{treatment}/history", "read_history", "Treatment"),
    Case("treatment revision", "GET", "/api/v1/treatments/{treatment}/history/1", "read_history", "Treatment"),
    Case("discard treatment", "DELETE", "/api/v1/treatments/{draft}", "discard", "Treatment"),
    Case("administer outcome", "POST", "/api/v1/patients/{pid}/outcomes", "create", "OutcomeAdministration",
         body=lambda s: {"instrument": "nprs", "responses": [6], "episode_id": s["episode"]}),
    Case("list outcomes", "GET", "/api/v1/patients/{pid}/outcomes", "search", "OutcomeAdministration"),
    Case("progress", "GET", "/api/v1/episodes/{episode}/progress", "read", "EpisodeProgress"),
    Case("progress chart", "GET", "/api/v1/episodes/{episode}/progress.svg", "read", "EpisodeProgress"),
    Case("patient chart", "GET", "/api/v1/patients/{pid}/chart", "read", "PatientChart"),
]


def test_every_route_writes_its_audit_row(client, staff, db):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    draft = record_session(client, therapist, patient["id"], episode["id"]).json()
    state: State = {"pid": patient["id"], "episode": episode["id"], "draft": draft["id"]}
    etags: dict[str, str] = {}
    missing = []
    for case in CASES:
        path = case.path.format(**state)
        headers = dict(therapist.headers)
        if case.if_match:
            headers["If-Match"] = etags[path]  # from the read just before
        response = client.request(case.method, path, headers=headers,
                                  json=case.body(state) if case.body else None)
        assert response.status_code in (200, 201, 204), (case.name, response.text)
        if "etag" in response.headers:
            etags[path] = response.headers["etag"]
        if case.keep:
            state[case.keep] = response.json()["id"]
        rows = db.scalars(select(AuditEvent).where(AuditEvent.request_id == response.headers["x-request-id"])).all()
        found = {(r.action, r.resource_type, r.patient_id, r.outcome) for r in rows}
        if (case.action, case.resource_type, uuid.UUID(patient["id"]), "success") not in found:
            missing.append((case.name, sorted(map(str, found))))
    assert missing == []
    actors = db.scalars(select(AuditEvent.actor_id).where(AuditEvent.patient_id == uuid.UUID(patient["id"]),
                                                          AuditEvent.resource_type == "Treatment")).all()
    assert set(actors) == {therapist.id}
