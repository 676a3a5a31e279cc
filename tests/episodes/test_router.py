"""Episodes of care: open, update, discharge; clinical, so never for reception."""

from __future__ import annotations

from sqlalchemy import select

from app.models import AuditEvent
from tests.assessments.helpers import open_episode
from tests.factories import make_patient


def test_open_read_update_and_discharge(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"], conditions=["sciatica", "low_back_pain"])
    assert episode["status"] == "open" and episode["conditions"] == ["sciatica", "low_back_pain"]
    assert episode["planned_frequency"] == "weekly"
    url = f"/api/v1/episodes/{episode['id']}"
    got = client.get(url, headers=therapist.headers)
    assert got.status_code == 200 and got.headers["etag"] == 'W/"1"'
    assert client.patch(url, json={"goals": ["Sit 1 hour"]}, headers=therapist.headers).status_code == 428
    updated = client.patch(url, json={"goals": ["Sit 1 hour"]}, headers={**therapist.headers, "If-Match": 'W/"1"'})
    assert updated.status_code == 200 and updated.json()["goals"] == ["Sit 1 hour"]
    discharged = client.post(f"{url}/discharge", headers=therapist.headers, json={
        "discharged_on": "2026-11-20", "discharge_reason": "goals_met", "discharge_outcome": "Pain-free walking"})
    assert discharged.status_code == 200, discharged.text
    body = discharged.json()
    assert body["status"] == "discharged" and body["discharged_on"] == "2026-11-20"
    again = client.post(f"{url}/discharge", headers=therapist.headers, json={"discharge_reason": "other"})
    assert again.status_code == 409
    listing = client.get(f"/api/v1/patients/{patient['id']}/episodes?status=open", headers=therapist.headers)
    assert listing.json()["items"] == []


def test_bad_episode_input_names_the_field(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    url = f"/api/v1/patients/{patient['id']}/episodes"
    response = client.post(url, json={"conditions": ["sciatica", "broken_heart"]}, headers=therapist.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "conditions[1]"
    response = client.post(url, json={"conditions": []}, headers=therapist.headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "conditions"
    response = client.post(url, json={"conditions": ["sciatica"], "onset_date": "2999-01-01"},
                           headers=therapist.headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "onset_date"
    episode = open_episode(client, therapist, patient["id"])
    response = client.post(f"/api/v1/episodes/{episode['id']}/discharge", headers=therapist.headers,
                           json={"discharge_reason": "bored"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "discharge_reason"
    response = client.post("/api/v1/patients/00000000-0000-0000-0000-000000000000/episodes",
                           json={"conditions": ["sciatica"]}, headers=therapist.headers)
    assert response.status_code == 404


def test_reception_cannot_see_episodes(client, staff):
    therapist, reception = staff("therapist"), staff("reception")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    assert client.get(f"/api/v1/episodes/{episode['id']}", headers=reception.headers).status_code == 403
    assert client.get(f"/api/v1/patients/{patient['id']}/episodes", headers=reception.headers).status_code == 403
    response = client.post(f"/api/v1/patients/{patient['id']}/episodes", json={"conditions": ["sciatica"]},
                           headers=reception.headers)
    assert response.status_code == 403


def test_discharge_honours_if_match_when_sent(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    url = f"/api/v1/episodes/{episode['id']}"
    client.patch(url, json={"goals": ["Sit 1 hour"]}, headers={**therapist.headers, "If-Match": 'W/"1"'})
    stale = client.post(f"{url}/discharge", json={"discharge_reason": "goals_met"},
                        headers={**therapist.headers, "If-Match": 'W/"1"'})
    assert stale.status_code == 412, stale.text
    assert client.get(url, headers=therapist.headers).json()["status"] == "open"
    fresh = client.post(f"{url}/discharge", json={"discharge_reason": "goals_met"},
                        headers={**therapist.headers, "If-Match": 'W/"2"'})
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["status"] == "discharged" and fresh.headers["etag"] == 'W/"3"'
    other = open_episode(client, therapist, patient["id"])
    without = client.post(f"/api/v1/episodes/{other['id']}/discharge", json={"discharge_reason": "plateau"},
                          headers=therapist.headers)
    assert without.status_code == 200, without.text  # If-Match stays optional here


def test_a_discharged_episode_is_not_edited(client, staff, db):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    url = f"/api/v1/episodes/{episode['id']}"
    discharged = client.post(f"{url}/discharge", json={"discharge_reason": "goals_met"}, headers=therapist.headers)
    etag = discharged.headers["etag"]
    for headers in ({**therapist.headers, "If-Match": etag}, therapist.headers):  # 409 wins over a missing If-Match
        response = client.patch(url, json={"goals": ["Run 5 km"]}, headers=headers)
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get(url, headers=therapist.headers).json()["goals"] == episode["goals"]
    refused = db.scalars(select(AuditEvent).where(AuditEvent.resource_id == episode["id"],
                                                  AuditEvent.outcome == "refused")).all()
    assert [(r.action, r.resource_type, str(r.patient_id)) for r in refused] == [
        ("update", "Episode", patient["id"])] * 2
