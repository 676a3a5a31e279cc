"""The visit pages (exam grid, needling log) and the signing checkpoint route, through TestClient: the same
permission checks, care rule and audit rows as the API reads they wrap; sign-check tells what sign refuses."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.models.audit import AuditEvent
from tests.assessments.helpers import assessment_body
from tests.treatments.helpers import needle
from tests.web.scene import page_csrf, seed_visit, sign_in

STATE = re.compile(r"data-state='([^']*)'")


def _state(html: str) -> dict[str, Any]:
    found = STATE.search(html)
    assert found, html
    return json.loads(found.group(1).replace("&#39;", "'").replace("&amp;", "&").replace("&#34;", '"'))


def _assessment(client: TestClient, therapist, visit) -> dict[str, Any]:
    made = client.post(f"/api/v1/patients/{visit.patient_id}/assessments", headers=therapist.headers,
                       json=assessment_body(visit.episode["id"]))
    assert made.status_code == 201, made.text
    return made.json()


def test_exam_pages_render_the_grid_and_the_draft_with_its_summary(browser_client: TestClient, staff, db):
    therapist, desk = staff("therapist"), staff("reception")
    visit = seed_visit(browser_client, therapist, desk, family_name="Gridded")
    sign_in(browser_client, therapist)
    new = browser_client.get(f"/app/episodes/{visit.episode['id']}/exam")
    assert new.status_code == 200, new.text
    state = _state(new.text)
    assert state["levels"][0] == "C1" and state["levels"][-1] == "S5" and len(state["levels"]) == 30
    assert state["record"] is None and state["episode_id"] == visit.episode["id"]
    assert 'role="grid"' in new.text and 'data-level="L5" data-side="left"' in new.text
    assert "Keyboard shortcuts" in new.text
    assessment = _assessment(browser_client, therapist, visit)
    draft = browser_client.get(f"/app/assessments/{assessment['id']}")
    assert draft.status_code == 200
    state = _state(draft.text)
    assert state["record"]["id"] == assessment["id"]
    assert {t["muscle"] for t in state["summary"]["suggested_targets"]} >= {"tibialis_anterior"}
    reads = db.scalars(select(AuditEvent).where(AuditEvent.actor_id == therapist.id,
                                                AuditEvent.resource_type == "Assessment",
                                                AuditEvent.action == "read")).all()
    assert [str(r.resource_id) for r in reads] == [assessment["id"]]  # audited as GET /api/v1/assessments/{id}
    needling = browser_client.get(f"/app/assessments/{assessment['id']}/needling")
    assert needling.status_code == 200
    targets = _state(needling.text)["targets"]
    assert targets and {"muscle", "level", "side", "kind"} <= set(targets[0])


def test_reception_gets_no_visit_page(browser_client: TestClient, staff):
    therapist, desk = staff("therapist"), staff("reception")
    visit = seed_visit(browser_client, therapist, desk, family_name="Deskless")
    assessment = _assessment(browser_client, therapist, visit)
    sign_in(browser_client, desk)
    for url in (f"/app/episodes/{visit.episode['id']}/exam", f"/app/assessments/{assessment['id']}",
                f"/app/assessments/{assessment['id']}/needling"):
        page = browser_client.get(url)
        assert page.status_code == 403, url
        assert "sciatica" not in page.text and "tibialis" not in page.text


def test_a_therapist_outside_the_care_team_is_refused(browser_client: TestClient, staff):
    therapist, other, desk = staff("therapist"), staff("therapist"), staff("reception")
    visit = seed_visit(browser_client, therapist, desk, family_name="Notmine")
    assessment = _assessment(browser_client, therapist, visit)
    sign_in(browser_client, other)
    assert browser_client.get(f"/app/assessments/{assessment['id']}").status_code == 403


def test_sign_check_lists_what_sign_would_refuse_and_writes_nothing(browser_client: TestClient, staff, db):
    therapist, desk = staff("therapist"), staff("reception")
    visit = seed_visit(browser_client, therapist, desk, family_name="Checked")
    made = browser_client.post(f"/api/v1/patients/{visit.patient_id}/treatments", headers=therapist.headers, json={
        "episode_id": visit.episode["id"],
        "needles": [needle("tibialis_anterior", "L5"), needle("gluteus_medius", "L5")],
        "needles_inserted": 2, "needles_removed": 1})
    assert made.status_code == 201, made.text
    tx = made.json()
    sign_in(browser_client, therapist)
    csrf = page_csrf(browser_client.get("/app").text)
    check = browser_client.get(f"/app/treatments/{tx['id']}/sign-check", headers={"X-CSRF-Token": csrf})
    assert check.status_code == 200, check.text
    assert check.json()["ready"] is False
    fields = [p["field"] for p in check.json()["problems"]]
    assert "needles_removed" in fields
    signed = browser_client.post(f"/api/v1/treatments/{tx['id']}/sign", headers={"X-CSRF-Token": csrf})
    assert signed.status_code == 409  # the same refusal, enforced
    stored = browser_client.get(f"/api/v1/treatments/{tx['id']}", headers={"X-CSRF-Token": csrf}).json()
    assert stored["status"] == "draft"
    fixed = browser_client.patch(f"/api/v1/treatments/{tx['id']}", json={
        "needles_removed": 2, "sharps_disposed": True, "verbal_consent_today": True},
        headers={"X-CSRF-Token": csrf, "If-Match": f'W/"{tx["version"]}"'})
    assert fixed.status_code == 200, fixed.text
    ready = browser_client.get(f"/app/treatments/{tx['id']}/sign-check", headers={"X-CSRF-Token": csrf}).json()
    assert ready == {"ready": True, "problems": []}
    signed = browser_client.post(f"/api/v1/treatments/{tx['id']}/sign", headers={"X-CSRF-Token": csrf})
    assert signed.status_code == 200, signed.text
    page = browser_client.get(f"/app/treatments/{tx['id']}")
    assert 'data-testid="signed"' in page.text and "Amend" in page.text
    assert browser_client.get(f"/app/treatments/{tx['id']}/sign-check").json()["ready"] is False


def test_sign_check_names_the_pacemaker(browser_client: TestClient, staff):
    therapist, desk = staff("therapist"), staff("reception")
    visit = seed_visit(browser_client, therapist, desk, family_name="Paced")
    made = browser_client.post(f"/api/v1/patients/{visit.patient_id}/treatments", headers=therapist.headers, json={
        "episode_id": visit.episode["id"],
        "needles": [needle("tibialis_anterior", "L5", e_stim=True), needle("gluteus_medius", "L5", e_stim=True)],
        "e_stim_leads": [{"needles": [0, 1]}]})
    assert made.status_code == 201, made.text
    browser_client.post(f"/api/v1/patients/{visit.patient_id}/screenings", headers=therapist.headers,
                        json={"pacemaker_or_implanted_device": True})
    sign_in(browser_client, therapist)
    check = browser_client.get(f"/app/treatments/{made.json()['id']}/sign-check",
                               headers={"Accept": "application/json"}).json()
    messages = " ".join(p["message"] for p in check["problems"])
    assert "pacemaker" in messages
