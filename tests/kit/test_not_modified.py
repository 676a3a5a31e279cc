"""If-None-Match on versioned records: 304 without a body when unchanged, and the read is still audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.kit.etag import _matches
from app.models import AuditEvent
from tests.assessments.helpers import assessment_body
from tests.treatments.helpers import ready_patient, record_session


def _reads(db, resource_type: str, resource_id: str) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "read", AuditEvent.resource_type == resource_type,
        AuditEvent.resource_id == resource_id))


@pytest.fixture
def chart(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    assessment = client.post(f"/api/v1/patients/{patient['id']}/assessments", json=assessment_body(episode["id"]),
                             headers=therapist.headers).json()
    treatment = record_session(client, therapist, patient["id"], episode["id"]).json()
    return therapist, {"Patient": f"/api/v1/patients/{patient['id']}",
                       "Episode": f"/api/v1/episodes/{episode['id']}",
                       "Assessment": f"/api/v1/assessments/{assessment['id']}",
                       "Treatment": f"/api/v1/treatments/{treatment['id']}"}


def test_unchanged_records_answer_304_and_each_poll_is_audited(client, db, chart):
    therapist, urls = chart
    for resource_type, url in urls.items():
        first = client.get(url, headers=therapist.headers)
        assert first.status_code == 200 and first.headers["etag"] == 'W/"1"', (url, first.text)
        rid = first.json()["id"]
        before = _reads(db, resource_type, rid)
        again = client.get(url, headers={**therapist.headers, "If-None-Match": first.headers["etag"]})
        assert again.status_code == 304, (url, again.status_code, again.text)
        assert again.content == b"" and again.headers["etag"] == 'W/"1"'
        assert "content-type" not in again.headers and again.headers.get("x-request-id")
        assert again.headers["x-content-type-options"] == "nosniff"  # outer middleware still applies
        assert _reads(db, resource_type, rid) == before + 1, f"the 304 for {url} was not audited"


def test_a_changed_record_answers_200_with_the_new_version(client, chart):
    therapist, urls = chart
    url = urls["Patient"]
    assert client.patch(url, json={"phone": "905-555-0101"},
                        headers={**therapist.headers, "If-Match": 'W/"1"'}).status_code == 200
    stale = client.get(url, headers={**therapist.headers, "If-None-Match": 'W/"1"'})
    assert stale.status_code == 200 and stale.headers["etag"] == 'W/"2"' and stale.json()["phone"] == "905-555-0101"
    listed = client.get(url, headers={**therapist.headers, "If-None-Match": 'W/"1", "2"'})
    assert listed.status_code == 304  # any tag in the list, weakly compared


def test_errors_and_unversioned_answers_are_never_turned_into_304(client, staff, chart):
    therapist, urls = chart
    reception = staff("reception")
    forbidden = client.get(urls["Treatment"], headers={**reception.headers, "If-None-Match": "*"})
    assert forbidden.status_code == 403
    missing = client.get("/api/v1/patients/01900000-0000-7000-8000-000000000000",
                         headers={**therapist.headers, "If-None-Match": "*"})
    assert missing.status_code == 404
    chart_page = client.get(f"{urls['Patient']}/chart", headers={**therapist.headers, "If-None-Match": "*"})
    assert chart_page.status_code == 200 and chart_page.json()["patient"]
    unauthenticated = client.get(urls["Patient"], headers={"If-None-Match": 'W/"1"'})
    assert unauthenticated.status_code == 401


def test_writes_ignore_if_none_match(client, chart):
    therapist, urls = chart
    response = client.patch(urls["Patient"], json={"phone": "905-555-0199"},
                            headers={**therapist.headers, "If-Match": 'W/"1"', "If-None-Match": 'W/"2"'})
    assert response.status_code == 200 and response.json()["version"] == 2


@pytest.mark.parametrize(("header", "tag", "expected"), [
    ('W/"3"', 'W/"3"', True), ('"3"', 'W/"3"', True), ('W/"2", W/"3"', 'W/"3"', True), ("*", 'W/"9"', True),
    ('W/"4"', 'W/"3"', False), ('W/"30"', 'W/"3"', False), ("", 'W/"3"', False), ("3", 'W/"3"', False)])
def test_weak_comparison(header, tag, expected):
    assert _matches(header, tag) is expected
