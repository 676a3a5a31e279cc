"""Today's alerts, the chart's pictures and visits, Print / PDF, reception's view and page-shaped errors, in
Chromium, with a screenshot of each."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.assessments.helpers import assessment_body
from tests.browser.conftest import SignedIn
from tests.treatments.helpers import record_session


def test_today_flags_precautions_consents_and_unsigned_notes(therapist_page: SignedIn, shot) -> None:
    s = therapist_page
    api, member, pid = s.live.api, s.member, s.visit.patient_id
    assert api.post(f"/api/v1/patients/{pid}/screenings", json={"anticoagulants": True, "lung_field_caution": True},
                    headers=member.headers).status_code == 201
    assert record_session(api, member, pid, s.visit.episode["id"], needles=[]).status_code == 201  # type: ignore[arg-type]
    s.page.reload()
    row = s.page.locator("tr", has_text=s.visit.patient["family_name"])
    alerts = row.get_by_test_id("alerts")
    expect(alerts).to_contain_text("anticoagulants")
    expect(alerts).to_contain_text("lung field caution")
    expect(alerts).to_contain_text("1 unsigned note")
    expect(alerts).not_to_contain_text("consent")
    shot(s.page, "today-alerts")


def test_the_chart_draws_the_map_and_progress_and_prints(therapist_page: SignedIn, shot) -> None:
    s = therapist_page
    api, member, pid, eid = s.live.api, s.member, s.visit.patient_id, s.visit.episode["id"]
    assert api.post(f"/api/v1/patients/{pid}/assessments", json=assessment_body(eid),
                    headers=member.headers).status_code == 201
    assert record_session(api, member, pid, eid).status_code == 201  # type: ignore[arg-type]
    page = s.page
    page.get_by_role("link", name=s.visit.name).first.click()
    page.wait_for_url(re.compile(f"/app/patients/{pid}$"))
    chart_map = page.get_by_test_id("segmental-map")
    expect(chart_map.locator("svg")).to_be_visible()
    expect(chart_map.get_by_role("img")).to_have_count(1)
    assert chart_map.locator("svg rect.involved").count() == 2  # L5 and S1, left: the impression
    expect(page.get_by_test_id("progress-chart").locator("svg")).to_be_visible()
    expect(page.get_by_test_id("past-visits").or_(page.get_by_test_id("upcoming-visits")).first).to_be_visible()
    box = chart_map.locator("svg").bounding_box()
    assert box and box["width"] >= 300  # drawn large enough to read
    shot(page, "chart-with-pictures")
    href = page.get_by_test_id("pdf-link").get_attribute("href")
    pdf = page.request.get(href)  # the page's own cookie
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:4] == b"%PDF"
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    api_pdf = page.request.get(f"/api/v1/patients/{pid}/export?format=pdf", headers={"X-CSRF-Token": csrf})
    assert api_pdf.status == 200 and api_pdf.headers["content-type"] == "application/pdf"


def test_reception_sees_no_alert_no_picture_no_pdf(reception_page: SignedIn, shot) -> None:
    page = reception_page.page
    expect(page.get_by_text(reception_page.visit.patient["family_name"]).first).to_be_visible()
    expect(page.get_by_test_id("alerts")).to_have_count(0)
    shot(page, "reception-today")
    page.goto(f"/app/patients/{reception_page.visit.patient_id}")
    for testid in ("segmental-map", "progress-chart", "pdf-link", "questionnaires-link", "past-visits"):
        expect(page.get_by_test_id(testid)).to_have_count(0)
    page.goto(f"/app/patients/{reception_page.visit.patient_id}/questionnaires/odi")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    shot(page, "reception-questionnaire-refused")


def test_a_bad_link_is_a_page_not_json(therapist_page: SignedIn, shot) -> None:
    page = therapist_page.page
    for path in ("/app/patients/12345", "/app/nowhere"):
        answer = page.goto(path)
        assert answer is not None and answer.status == 404 and "text/html" in answer.headers["content-type"]
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        expect(page.get_by_role("link", name="Back to Today")).to_be_visible()
    shot(page, "not-found")
