"""Today's alerts at a glance: consents, the current screen's precautions and unsigned notes, computed by the
safety rules' own functions, audited as the reads they are, and never shown to the front desk."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.models.audit import AuditEvent
from tests.treatments.helpers import record_session
from tests.web.scene import seed_visit, sign_in


def _alerts_of(html: str, family_name: str) -> str:
    """The day-list row of one patient (from the name to the end of its row)."""
    start = html.index(family_name)
    return html[start:html.index("</tr>", start)]


def test_today_shows_each_patients_alerts(browser_client: TestClient, staff, db):
    therapist, desk = staff("therapist"), staff("reception")
    risky = seed_visit(browser_client, therapist, desk, family_name="Risky", anticoagulants=True,
                       pacemaker_or_implanted_device=True)
    draft = record_session(browser_client, therapist, risky.patient_id, risky.episode["id"], needles=[])
    assert draft.status_code == 201, draft.text
    consents = browser_client.get(f"/api/v1/patients/{risky.patient_id}/consents", headers=therapist.headers).json()
    [estim] = [c for c in consents if c["kind"] == "electrical_stimulation"]
    withdrawn = browser_client.post(f"/api/v1/patients/{risky.patient_id}/consents/{estim['id']}/withdraw",
                                    json={"reason": "patient declined"}, headers=therapist.headers)
    assert withdrawn.status_code == 200, withdrawn.text

    sign_in(browser_client, therapist)
    page = browser_client.get("/app")
    assert page.status_code == 200, page.text
    row = _alerts_of(page.text, "Risky")
    assert 'data-testid="alerts"' in row
    assert "No e-stim consent" in row and "No IMS consent" not in row
    assert "anticoagulants" in row and "pacemaker / implant" in row
    assert "1 unsigned note" in row
    searches = db.scalars(select(AuditEvent).where(AuditEvent.actor_id == therapist.id,
                                                   AuditEvent.action == "search")).all()
    alert_reads = {e.resource_type: e.detail for e in searches if (e.detail or {}).get("view") == "today-alerts"}
    assert set(alert_reads) == {"Consent", "Screening", "Assessment", "Treatment"}
    assert alert_reads["Consent"]["patient_ids"] == [risky.patient_id]
    assert alert_reads["Treatment"]["result_ids"] == [draft.json()["id"]]


def test_a_patient_ready_to_needle_has_no_alert(browser_client: TestClient, staff):
    therapist, desk = staff("therapist"), staff("reception")
    seed_visit(browser_client, therapist, desk, family_name="Calm")
    sign_in(browser_client, therapist)
    page = browser_client.get("/app").text
    assert "Calm" in page and 'data-testid="alerts"' not in page


def test_a_patient_with_no_consent_and_no_screen_is_flagged(browser_client: TestClient, staff):
    from tests.appointments.helpers import IMS
    from tests.factories import make_patient
    from tests.web.scene import today_start

    therapist, desk = staff("therapist"), staff("reception")
    patient = make_patient(browser_client, therapist, family_name="Bare")
    booked = browser_client.post("/api/v1/appointments", headers=desk.headers, json={
        "patient_id": patient["id"], "therapist_id": str(therapist.id), "type_id": IMS,
        "start": today_start(browser_client, desk), "override_hours": True})
    assert booked.status_code == 201, booked.text
    sign_in(browser_client, therapist)
    row = _alerts_of(browser_client.get("/app").text, "Bare")
    assert "No IMS consent" in row and "No e-stim consent" in row and "No current screen" in row


def test_reception_sees_no_alert(browser_client: TestClient, staff, db):
    therapist, desk = staff("therapist"), staff("reception")
    seed_visit(browser_client, therapist, desk, family_name="Guarded", pregnancy=True)
    sign_in(browser_client, desk)
    page = browser_client.get("/app")
    assert "Guarded" in page.text
    for clinical in ('data-testid="alerts"', "pregnancy", "consent", "unsigned"):
        assert clinical not in page.text, clinical
    assert not [e for e in db.scalars(select(AuditEvent).where(AuditEvent.actor_id == desk.id))
                if (e.detail or {}).get("view") == "today-alerts"]
