"""Today and the patient chart as pages: the same services, roles and audit rows as the API reads."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.models.audit import AuditEvent
from tests.web.scene import seed_visit, sign_in


def _reads(db, actor_id, resource_type: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.actor_id == actor_id,
                                                    AuditEvent.resource_type == resource_type)))


def test_today_lists_the_therapists_own_patients_and_open_episodes(browser_client: TestClient, staff, db):
    therapist, other, desk = staff("therapist"), staff("therapist"), staff("reception")
    mine = seed_visit(browser_client, therapist, desk, family_name="Mine")
    theirs = seed_visit(browser_client, other, desk, family_name="Theirs")
    sign_in(browser_client, therapist)
    page = browser_client.get("/app")
    assert page.status_code == 200
    assert "Mine" in page.text and "Theirs" not in page.text
    assert f'href="/app/patients/{mine.patient_id}"' in page.text
    assert 'data-testid="open-episodes"' in page.text and "sciatica" in page.text
    [sheet] = [e for e in _reads(db, therapist.id, "Appointment") if e.action == "search"]
    assert sheet.detail["result_ids"] == [mine.appointment["id"]]  # the day sheet's own audit row
    [episodes] = [e for e in _reads(db, therapist.id, "Episode") if e.action == "search"]
    assert episodes.detail["result_ids"] == [mine.episode["id"]]
    assert theirs.patient_id not in str([e.detail for e in _reads(db, therapist.id, "Patient")])


def test_reception_sees_the_whole_day_list_without_clinical_content(browser_client: TestClient, staff, db):
    therapist, desk = staff("therapist"), staff("reception")
    visit = seed_visit(browser_client, therapist, desk, family_name="Frontdesk", pregnancy=True)
    sign_in(browser_client, desk)
    page = browser_client.get("/app")
    assert page.status_code == 200
    assert "Frontdesk" in page.text and "Day list" in page.text
    assert "Open episodes" not in page.text and "sciatica" not in page.text
    chart = browser_client.get(f"/app/patients/{visit.patient_id}")
    assert chart.status_code == 200
    assert 'data-testid="demographics"' in chart.text and 'data-testid="no-clinical"' in chart.text
    for clinical in ("sciatica", "pregnancy", "Consents", "Last treatments", "Precautions"):
        assert clinical not in chart.text, clinical
    [read] = _reads(db, desk.id, "Patient")[-1:]
    assert (read.action, str(read.resource_id)) == ("read", visit.patient_id)  # as GET /api/v1/patients/{id}
    assert _reads(db, desk.id, "PatientChart") == []


def test_the_chart_page_reads_and_audits_like_the_chart_api(browser_client: TestClient, staff, db):
    therapist, desk = staff("therapist"), staff("reception")
    visit = seed_visit(browser_client, therapist, desk, family_name="Charted", anticoagulants=True)
    sign_in(browser_client, therapist)
    page = browser_client.get(f"/app/patients/{visit.patient_id}")
    assert page.status_code == 200, page.text
    assert "Charted" in page.text and "sciatica" in page.text and "anticoagulants" in page.text
    assert "ims_dry_needling" in page.text
    [read] = _reads(db, therapist.id, "PatientChart")
    assert (read.action, str(read.patient_id), read.outcome) == ("read", visit.patient_id, "success")
    api = browser_client.get(f"/api/v1/patients/{visit.patient_id}/chart", headers=therapist.headers)
    assert api.status_code == 200
    [_, by_api] = _reads(db, therapist.id, "PatientChart")
    assert (by_api.action, by_api.resource_id, by_api.detail) == (read.action, read.resource_id, read.detail)


def test_a_therapist_outside_the_care_team_gets_the_apis_403_as_a_page(browser_client: TestClient, staff, db):
    therapist, stranger, desk = staff("therapist"), staff("therapist"), staff("reception")
    visit = seed_visit(browser_client, therapist, desk)
    sign_in(browser_client, stranger)
    page = browser_client.get(f"/app/patients/{visit.patient_id}")
    assert page.status_code == 403
    assert "not in your care" in page.text and "text/html" in page.headers["content-type"]
    assert "sciatica" not in page.text
    denied = db.scalars(select(AuditEvent).where(AuditEvent.actor_id == stranger.id,
                                                 AuditEvent.action == "access")).all()
    assert [(d.outcome, str(d.patient_id)) for d in denied] == [("denied", visit.patient_id)]
    assert _reads(db, stranger.id, "PatientChart") == []


def test_an_unknown_patient_is_a_404_page(browser_client: TestClient, staff):
    sign_in(browser_client, staff("therapist"))
    page = browser_client.get("/app/patients/018f0000-0000-7000-8000-00000000dead")
    assert page.status_code == 404 and "Not found" in page.text


def test_static_files_are_served_by_the_app_with_a_versioned_url(browser_client: TestClient, staff):
    sign_in(browser_client, staff("therapist"))
    page = browser_client.get("/app").text
    for name in ("app.js", "app.css"):
        assert f"/app/static/{name}?v=" in page
        start = page.index(f"/app/static/{name}?v=")
        url = page[start:page.index('"', start)]
        asset = browser_client.get(url)
        assert asset.status_code == 200 and asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "http" not in page.split("<body>")[0].replace('http-equiv', '')  # no CDN in the head
