"""The chart: everything for today's visit in one call, in a fixed number of queries."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from tests.assessments.helpers import assessment_body, open_episode
from tests.treatments.helpers import consent, ready_patient, record_session, screen, six_needles


@contextmanager
def counting(engine):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_chart_in_one_call(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist, anticoagulants=True)
    client.post(f"/api/v1/patients/{patient['id']}/assessments", json=assessment_body(episode["id"]),
                headers=therapist.headers)
    for pre in (8, 7, 6):
        record_session(client, therapist, patient["id"], episode["id"], pre_pain_nprs=pre,
                       needles=six_needles(e_stim=False))
    client.post(f"/api/v1/patients/{patient['id']}/outcomes", headers=therapist.headers,
                json={"instrument": "odi", "responses": [3] * 10, "episode_id": episode["id"]})
    response = client.get(f"/api/v1/patients/{patient['id']}/chart", headers=therapist.headers)
    assert response.status_code == 200, response.text
    chart = response.json()
    assert chart["patient"]["id"] == patient["id"]
    assert [e["id"] for e in chart["open_episodes"]] == [episode["id"]]
    assert {c["kind"] for c in chart["active_consents"]} == {"ims_dry_needling", "electrical_stimulation"}
    assert chart["precautions"] == ["anticoagulants"]
    assert chart["latest_assessment"]["summary"]["involved"] == [{"level": "L5", "side": "left"},
                                                                 {"level": "S1", "side": "left"}]
    assert [t["pre_pain_nprs"] for t in chart["recent_treatments"]] == [6, 7, 8]  # newest first
    assert any("bleeding risk" in w["message"] for w in chart["recent_treatments"][0]["warnings"])
    assert chart["progress"][0]["instruments"][0]["instrument"] == "odi"
    assert len(chart["progress"][0]["pain"]) == 3


def test_chart_query_count_does_not_grow_with_history(client, staff, app, steady_clinic_profile):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    pid = patient["id"]
    url = f"/api/v1/patients/{pid}/chart"

    def queries() -> int:
        with counting(app.state.engine) as statements:
            assert client.get(url, headers=therapist.headers).status_code == 200
        return len(statements)

    record_session(client, therapist, pid, episode["id"], needles=six_needles(e_stim=False))
    few = queries()
    for i in range(12):
        ep = open_episode(client, therapist, pid, conditions=["low_back_pain"])  # another open episode
        consent(client, therapist, pid, kind="data_sharing")
        screen(client, therapist, pid, anticoagulants=bool(i % 2))
        client.post(f"/api/v1/patients/{pid}/assessments", json=assessment_body(ep["id"]), headers=therapist.headers)
        record_session(client, therapist, pid, ep["id"], needles=six_needles(e_stim=False))
        client.post(f"/api/v1/patients/{pid}/outcomes", headers=therapist.headers,
                    json={"instrument": "nprs", "responses": [5], "episode_id": ep["id"]})
    many = queries()
    chart = client.get(url, headers=therapist.headers).json()
    assert len(chart["open_episodes"]) == 13 and len(chart["progress"]) == 13
    assert len(chart["active_consents"]) == 14
    assert len(chart["recent_treatments"]) == 10
    assert many == few, f"{few} queries with 1 session, {many} with 13 episodes, consents, screens and sessions"
    assert few <= 26  # fixed: care check, red flags and visits each add a query, never one per record


def test_chart_shows_the_last_ten_sessions_newest_first(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    for _ in range(12):
        response = record_session(client, therapist, patient["id"], episode["id"], needles=six_needles(e_stim=False))
        assert response.status_code == 201
    chart = client.get(f"/api/v1/patients/{patient['id']}/chart", headers=therapist.headers).json()
    recent = chart["recent_treatments"]
    assert len(recent) == 10
    assert [t["started_at"] for t in recent] == sorted((t["started_at"] for t in recent), reverse=True)
    listing = client.get(f"/api/v1/patients/{patient['id']}/treatments", headers=therapist.headers).json()
    assert [t["id"] for t in recent] == [t["id"] for t in listing["items"][:10]]
    assert len(listing["items"]) == 12


def test_reception_cannot_open_the_chart(client, staff):
    therapist, reception = staff("therapist"), staff("reception")
    patient, _ = ready_patient(client, therapist)
    assert client.get(f"/api/v1/patients/{patient['id']}/chart", headers=reception.headers).status_code == 403
