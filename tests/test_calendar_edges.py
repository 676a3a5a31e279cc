"""Instants at the edges of the calendar are answered with 4xx, never a 500 (issue 10 item 8)."""

from __future__ import annotations

import pytest

from tests.treatments.helpers import ready_patient, session_body

EDGES = ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-23:59"]


@pytest.mark.parametrize("edge", EDGES)
def test_clinical_instants_at_the_edges_are_client_errors(client, staff, edge):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    pid = patient["id"]
    attempts = {
        "treatment": client.post(f"/api/v1/patients/{pid}/treatments",
                                 json={**session_body(episode["id"]), "started_at": edge}, headers=therapist.headers),
        "screening": client.post(f"/api/v1/patients/{pid}/screenings", json={"diabetes": True, "screened_at": edge},
                                 headers=therapist.headers),
        "consent": client.post(f"/api/v1/patients/{pid}/consents",
                               json={"kind": "data_sharing", "method": "verbal", "obtained_at": edge},
                               headers=therapist.headers),
        "outcome": client.post(f"/api/v1/patients/{pid}/outcomes",
                               json={"instrument": "nprs", "responses": [4], "administered_at": edge},
                               headers=therapist.headers),
        "audit": client.get("/api/v1/audit-events", params={"until": edge}, headers=staff("auditor").headers),
        "fhir": client.get("/fhir/Observation", params={"patient": pid, "_lastUpdated": f"lt{edge}"},
                           headers=therapist.headers),
    }
    for name, response in attempts.items():
        assert response.status_code < 500, (name, response.status_code, response.text)
