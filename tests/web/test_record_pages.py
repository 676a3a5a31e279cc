"""The chart's pictures and visits, the questionnaire pages, the PDF, and page-shaped errors (TestClient)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.models.audit import AuditEvent
from tests.treatments.helpers import record_session
from tests.web.scene import page_csrf, seed_visit, sign_in


def test_the_chart_shows_the_progress_chart_visits_and_the_record_links(browser_client: TestClient, staff):
    therapist, desk = staff("therapist"), staff("reception")
    visit = seed_visit(browser_client, therapist, desk, family_name="Pictured")
    assert record_session(browser_client, therapist, visit.patient_id, visit.episode["id"]).status_code == 201
    sign_in(browser_client, therapist)
    page = browser_client.get(f"/app/patients/{visit.patient_id}")
    assert page.status_code == 200, page.text
    assert 'data-testid="progress-chart"' in page.text and "<svg" in page.text and "<?xml" not in page.text
    assert 'data-testid="upcoming-visits"' in page.text or 'data-testid="past-visits"' in page.text
    assert visit.appointment["id"] in page.text
    assert f'href="/app/patients/{visit.patient_id}/record.pdf"' in page.text
    assert f'href="/app/patients/{visit.patient_id}/questionnaires"' in page.text


def test_the_pdf_is_the_export_routes_answer_for_the_pages_session(browser_client: TestClient, staff, db):
    therapist, desk = staff("therapist"), staff("reception")
    visit = seed_visit(browser_client, therapist, desk, family_name="Printed")
    sign_in(browser_client, therapist)
    pdf = browser_client.get(f"/app/patients/{visit.patient_id}/record.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-disposition"].startswith("inline")
    exported = db.scalars(select(AuditEvent).where(AuditEvent.actor_id == therapist.id,
                                                   AuditEvent.action == "export")).all()
    assert [(str(e.patient_id), e.detail["format"]) for e in exported] == [(visit.patient_id, "pdf")]
    csrf = page_csrf(browser_client.get("/app").text)  # the API route itself, with the page's cookie + CSRF header
    api = browser_client.get(f"/api/v1/patients/{visit.patient_id}/export?format=pdf", headers={"X-CSRF-Token": csrf})
    assert api.status_code == 200 and api.headers["content-type"] == "application/pdf"
    sign_in(browser_client, desk)
    refused = browser_client.get(f"/app/patients/{visit.patient_id}/record.pdf")
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]


def test_questionnaire_pages_are_built_from_the_instrument_definitions(browser_client: TestClient, staff, db):
    therapist, desk = staff("therapist"), staff("reception")
    visit = seed_visit(browser_client, therapist, desk, family_name="Asked")
    sign_in(browser_client, therapist)
    index = browser_client.get(f"/app/patients/{visit.patient_id}/questionnaires")
    assert index.status_code == 200
    instruments = browser_client.get("/api/v1/reference/instruments", headers=therapist.headers).json()
    for i in instruments:
        form = browser_client.get(f"/app/patients/{visit.patient_id}/questionnaires/{i['code']}")
        assert form.status_code == 200, (i["code"], form.text[:300])
        assert form.text.count('class="item"') == i["item_count"]["max"], i["code"]
    odi = browser_client.get(f"/app/patients/{visit.patient_id}/questionnaires/odi").text
    assert "Pain intensity" in odi and 'name="item-9" value="5"' in odi and visit.episode["id"] in odi
    visa = browser_client.get(f"/app/patients/{visit.patient_id}/questionnaires/visa_a").text
    assert 'name="item-7-branch"' in visa and 'name="item-7-minutes"' in visa
    assert 'name="item-6" value="not_at_all"' in visa
    assert browser_client.get(f"/app/patients/{visit.patient_id}/questionnaires/nope").status_code == 404
    reads = db.scalars(select(AuditEvent).where(AuditEvent.actor_id == therapist.id,
                                                AuditEvent.resource_type == "OutcomeAdministration")).all()
    assert [r.action for r in reads] == ["search"]  # the index's results list, as GET .../outcomes


def test_reception_gets_no_questionnaire(browser_client: TestClient, staff):
    therapist, desk = staff("therapist"), staff("reception")
    visit = seed_visit(browser_client, therapist, desk)
    sign_in(browser_client, desk)
    for path in ("questionnaires", "questionnaires/odi"):
        page = browser_client.get(f"/app/patients/{visit.patient_id}/{path}")
        assert page.status_code == 403 and "text/html" in page.headers["content-type"], path
        assert "Oswestry" not in page.text
    assert "record.pdf" not in browser_client.get(f"/app/patients/{visit.patient_id}").text


def test_a_bad_id_or_unknown_page_under_app_is_an_html_page(browser_client: TestClient, staff):
    sign_in(browser_client, staff("therapist"))
    for path in ("/app/patients/not-a-uuid", "/app/no-such-page", "/app/patients/not-a-uuid/questionnaires"):
        page = browser_client.get(path)
        assert page.status_code == 404, path
        assert "text/html" in page.headers["content-type"] and "Page not found" in page.text, path
    script = browser_client.get("/app/patients/not-a-uuid", headers={"Accept": "application/json"})
    assert script.status_code == 422 and script.headers["content-type"] == "application/problem+json"
    assert browser_client.get("/api/v1/patients/not-a-uuid").headers["content-type"] == "application/problem+json"
