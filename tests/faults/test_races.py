"""Requests racing for one record: the losers hear 409 or 412, never 500, on both engines.

Real threads against the real app and database: the barrier releases them together, so on PostgreSQL
they genuinely overlap (SQLite serialises writers with BEGIN IMMEDIATE, which must give the same answers).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.models.clinical import ClinicalRevision
from tests.assessments.helpers import chart_visit
from tests.treatments.helpers import ready_patient, record_session

RACERS = 8


def at_once(calls: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))

    def run(call: Any) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def revisions(db: Any, record_id: str) -> int:
    return db.scalar(select(func.count()).select_from(ClinicalRevision)
                     .where(ClinicalRevision.record_id == uuid.UUID(record_id)))


def test_racing_signatures_of_one_assessment_give_one_200_and_409s(client, staff, db):
    therapist = staff("therapist")
    _, _, draft = chart_visit(client, therapist)
    url = f"/api/v1/assessments/{draft['id']}/sign"
    responses = at_once([lambda: client.post(url, headers=therapist.headers) for _ in range(RACERS)])
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: RACERS - 1}, [r.text for r in responses if r.status_code != 200]
    assert all(r.headers["content-type"] == "application/problem+json" for r in responses if r.status_code == 409)
    assert revisions(db, draft["id"]) == 1


def test_racing_signatures_of_one_treatment_give_one_200_and_409s(client, staff, db):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    draft = record_session(client, therapist, patient["id"], episode["id"], needles_removed=6).json()
    url = f"/api/v1/treatments/{draft['id']}/sign"
    responses = at_once([lambda: client.post(url, headers=therapist.headers) for _ in range(RACERS)])
    assert Counter(r.status_code for r in responses) == {200: 1, 409: RACERS - 1}, [r.text for r in responses]
    assert revisions(db, draft["id"]) == 1


@pytest.mark.parametrize("with_if_match", [True, False])
def test_racing_amendments_give_one_201_and_the_rest_412_or_409(client, staff, db, with_if_match):
    therapist = staff("therapist")
    _, _, draft = chart_visit(client, therapist)
    signed = client.post(f"/api/v1/assessments/{draft['id']}/sign", headers=therapist.headers)
    assert signed.status_code == 200
    headers = {**therapist.headers, **({"If-Match": signed.headers["etag"]} if with_if_match else {})}
    url = f"/api/v1/assessments/{draft['id']}/amendments"
    responses = at_once([
        lambda i=i: client.post(url, headers=headers, json={"reason": f"correction {i}",
                                                             "changes": {"plan": f"Plan variant {i}"}})
        for i in range(RACERS)])
    statuses = Counter(r.status_code for r in responses)
    assert 500 not in statuses, [r.text for r in responses if r.status_code >= 500]
    if with_if_match:  # one If-Match, one winner: the rest are stale
        assert statuses == {201: 1, 412: RACERS - 1}, statuses
    else:  # without If-Match each amendment applies in turn (428 if the route insists on If-Match)
        assert set(statuses) <= {201, 428}, statuses
    assert revisions(db, draft["id"]) == 1 + statuses[201]


def test_racing_draft_edits_with_one_if_match_give_one_200_and_412s(client, staff):
    therapist = staff("therapist")
    _, _, draft = chart_visit(client, therapist)
    url = f"/api/v1/assessments/{draft['id']}"
    headers = {**therapist.headers, "If-Match": 'W/"1"'}
    responses = at_once([lambda i=i: client.patch(url, headers=headers, json={"plan": f"Plan {i}"})
                         for i in range(RACERS)])
    assert Counter(r.status_code for r in responses) == {200: 1, 412: RACERS - 1}, [r.text for r in responses]


def test_database_errors_never_quote_parameter_values(app):
    """A failing statement's text (and so any traceback) names the SQL, never the values bound to it."""
    marker = "Confidential-marker-7f3a"
    with pytest.raises(DBAPIError) as caught, app.state.engine.connect() as conn:
        conn.execute(text("SELECT no_such_column FROM patients WHERE family_name = :name"), {"name": marker})
    assert marker not in str(caught.value)


def test_a_unique_violation_that_escapes_a_service_is_a_409_not_a_500(client, app, staff, caplog):
    """The central safety net: a race on any unique constraint the code did not foresee is a conflict."""
    therapist = staff("therapist")
    _, _, draft = chart_visit(client, therapist)
    signed = client.post(f"/api/v1/assessments/{draft['id']}/sign", headers=therapist.headers)
    assert signed.status_code == 200
    # Plant a revision 2, as a concurrent amendment that committed first would have.
    with app.state.sessionmaker() as session, session.begin():
        session.add(ClinicalRevision(record_type="assessment", record_id=uuid.UUID(draft["id"]),
                                     patient_id=uuid.UUID(draft["patient_id"]), revision=2, kind="amendment",
                                     content={"plan": "Confidential-marker-7f3a"}, content_hash="0" * 64,
                                     author_id=therapist.id, reason="planted"))
    with caplog.at_level(logging.INFO):
        response = client.post(f"/api/v1/assessments/{draft['id']}/amendments", headers=therapist.headers,
                               json={"reason": "fix", "changes": {"plan": "Confidential-marker-7f3a too"}})
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "Confidential-marker" not in caplog.text and "Traceback" not in caplog.text


def test_racing_state_changes_elsewhere_give_one_winner_and_409_or_412(client, staff):
    """The same pattern beyond notes: withdrawing one consent, discharging one episode, revoking one key."""
    from tests.assessments.helpers import open_episode
    from tests.factories import make_patient
    from tests.treatments.helpers import consent

    therapist, admin = staff("therapist"), staff("admin")
    patient = make_patient(client, therapist)
    given = consent(client, therapist, patient["id"])
    withdraw = f"/api/v1/patients/{patient['id']}/consents/{given['id']}/withdraw"
    withdrawn = at_once([lambda: client.post(withdraw, json={"reason": "changed mind"}, headers=therapist.headers)
                         for _ in range(RACERS)])
    statuses = Counter(r.status_code for r in withdrawn)
    assert statuses[200] == 1 and set(statuses) <= {200, 409, 412}, [r.text for r in withdrawn]

    episode = open_episode(client, therapist, patient["id"])
    discharge = f"/api/v1/episodes/{episode['id']}/discharge"
    body = {"discharge_reason": "goals_met", "discharge_outcome": "Walking 30 minutes"}
    discharged = at_once([lambda: client.post(discharge, json=body, headers={**therapist.headers,
                                                                             "If-Match": 'W/"1"'})
                          for _ in range(RACERS)])
    statuses = Counter(r.status_code for r in discharged)
    assert statuses[200] == 1 and set(statuses) <= {200, 409, 412}, [r.text for r in discharged]

    key = client.post("/api/v1/api-clients", json={"name": "Front desk app", "scopes": ["patients:read"]},
                      headers=admin.headers)
    assert key.status_code == 201, key.text
    revoke = f"/api/v1/api-clients/{key.json()['id']}/revoke"
    revoked = at_once([lambda: client.post(revoke, headers=admin.headers) for _ in range(RACERS)])
    statuses = Counter(r.status_code for r in revoked)
    assert statuses[200] >= 1 and set(statuses) <= {200, 409, 412}, [r.text for r in revoked]
