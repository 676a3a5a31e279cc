"""The PDF is the legal chart: a fully charted patient's PDF says everything a clinician needs, in local time."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from tests.assessments.helpers import assessment_body, open_episode
from tests.factories import make_patient
from tests.treatments.helpers import consent, screen, session_body

# A Toronto clinic (the seeded default zone): 15:00 UTC on 10 November is 10:00 EST.
VISIT = "2026-11-10T15:00:00Z"


@pytest.fixture
def charted(client, staff):
    therapist = staff("therapist")
    h = therapist.headers
    patient = make_patient(client, therapist)
    pid = patient["id"]
    episode = open_episode(client, therapist, pid)
    consent(client, therapist, pid, obtained_at="2026-11-03T14:00:00Z")
    consent(client, therapist, pid, kind="electrical_stimulation", method="verbal", obtained_at="2026-11-03T14:05:00Z")
    sharing = consent(client, therapist, pid, kind="data_sharing", obtained_at="2026-11-03T14:10:00Z",
                      risks_discussed=[])
    assert client.post(f"/api/v1/patients/{pid}/consents/{sharing['id']}/withdraw", headers=h,
                       json={"reason": "Patient declined research use"}).status_code == 200
    screen(client, therapist, pid, anticoagulants=True, screened_at="2026-11-10T14:30:00Z",
           notes="Apixaban 5 mg bid")
    body = assessment_body(episode["id"], assessed_at="2026-11-10T14:40:00Z")
    body["subjective"]["red_flags"]["night_pain"] = True
    a = client.post(f"/api/v1/patients/{pid}/assessments", json=body, headers=h).json()
    assert client.post(f"/api/v1/assessments/{a['id']}/sign", headers=h).status_code == 200
    assert client.post(f"/api/v1/assessments/{a['id']}/amendments", headers=h, json={
        "reason": "Plan agreed with patient", "changes": {"plan": "IMS weekly x6"}}).status_code == 201
    session = session_body(episode["id"], started_at=VISIT, ended_at="2026-11-10T15:40:00Z", needles_removed=6,
                           adverse_events=[{"kind": "bruising", "severity": "mild", "action_taken": "pressure 2 min",
                                            "follow_up": "check next visit"}])
    del session["needles_inserted"]  # the API derives it from the needle entries: 6
    t = client.post(f"/api/v1/patients/{pid}/treatments", json=session, headers=h)
    assert t.status_code == 201, t.text
    t = t.json()
    assert t["needles_inserted"] == 6 and t["total_insertions"] == 17
    assert client.post(f"/api/v1/treatments/{t['id']}/sign", headers=h).status_code == 200
    assert client.post(f"/api/v1/treatments/{t['id']}/amendments", headers=h, json={
        "reason": "Corrected post-needling pain", "changes": {"post_pain_nprs": 3}}).status_code == 201
    for when, score in (("2026-11-10T14:35:00Z", 6), ("2026-11-24T14:35:00Z", 2)):
        assert client.post(f"/api/v1/patients/{pid}/outcomes", headers=h, json={
            "instrument": "nprs", "responses": [score], "administered_at": when,
            "episode_id": episode["id"]}).status_code == 201
    return therapist, patient, t


def _text(client, therapist, patient) -> tuple[str, list[str]]:
    response = client.get(f"/api/v1/patients/{patient['id']}/export", params={"format": "pdf"},
                          headers=therapist.headers)
    assert response.status_code == 200, response.text
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages]
    text = re.sub(r"\s+", " ", " ".join(pages))  # table cells wrap: compare words, not lines
    return text, pages


def test_pdf_prints_the_derived_needle_counts_in_local_time_with_named_muscles(client, charted):
    therapist, patient, _ = charted
    text, pages = _text(client, therapist, patient)
    assert all("LINDQVIST, Margaret" in page for page in pages)
    assert "Needles inserted 6, removed 6" in text and "None" not in text
    assert "total insertions 17" in text
    # Local time, labelled: the 15:00 UTC visit is 10:00 in Toronto.
    assert "IMS treatment 2026-11-10 10:00 EST" in text
    assert "Gunn assessment 2026-11-10 09:40 EST" in text
    assert "15:00" not in text and "America/Toronto" in text
    # Muscles by name (with side and level), never their codes.
    assert "Tibialis anterior" in text and "Gluteus medius" in text
    assert "tibialis_anterior" not in text and "multifidus_l5" not in text
    assert "Gluteus medius (left L5, severity 2)" in text


def test_pdf_has_every_consent_screen_history_and_session_detail(client, charted):
    therapist, patient, _ = charted
    text, _ = _text(client, therapist, patient)
    # Consents: kind, date, method and the withdrawal.
    assert "ims dry needling" in text and "electrical stimulation" in text and "data sharing" in text
    assert "2026-11-03 09:00 EST" in text and "verbal" in text and "written" in text
    assert "WITHDRAWN" in text and "Patient declined research use" in text
    # The precaution screen.
    assert "Precaution screenings" in text and "anticoagulants" in text and "Apixaban" in text
    # Subjective history and the red-flag screen.
    assert "Left buttock and leg pain for 3 months" in text
    assert "night pain: YES" in text and "cauda equina symptoms: no" in text and "not asked" in text
    # Needles: gauge x length, depth, responses; e-stim parameters.
    assert "0.25 x 40 mm" in text and "25 mm" in text and "local twitch" in text and "grasp, cramping" in text
    assert "ITO ES-130" in text and "biphasic" in text and "250" in text
    # Adverse events, retest, after-care, plan.
    assert "bruising" in text and "pressure 2 min" in text and "check next visit" in text
    assert "SLR 60 -> 75 degrees" in text and "Heat, gentle walking" in text and "Weekly IMS" in text


def test_pdf_amendments_say_what_changed(client, charted):
    therapist, patient, _ = charted
    text, _ = _text(client, therapist, patient)
    assert text.count("Signed electronically by") == 2
    assert "Plan agreed with patient" in text and "Corrected post-needling pain" in text
    assert 'plan: "IMS weekly: gluteals, tibialis anterior, L5-S1 paraspinals" -> "IMS weekly x6"' in text
    assert "post_pain_nprs: 4 -> 3" in text


def test_pdf_outcomes_are_interpreted_and_pictures_are_dated(client, charted):
    therapist, patient, _ = charted
    text, _ = _text(client, therapist, patient)
    assert "Numeric Pain Rating Scale" in text and "moderate pain" in text and "mild pain" in text
    assert "improved by 4 points since baseline: clinically important" in text
    # The progress chart: a dated axis (clinic dates), not 0, 0.5, 1 ...
    assert "2026-11-10" in text and "2026-11-24" in text and "date (clinic time, America/Toronto)" in text
    assert "Numeric Pain Rating Scale: improved by 4 points" in text
    # The segmental map: the same five labelled columns and legend as the SVG, with the patient and date.
    for label in ("Shortened muscle", "Tender points", "Skin changes", "Paraspinal shortening",
                  "Paraspinal tenderness", "Patient's left", "Patient's right"):
        assert label in text
    assert "Assessed 2026-11-10 09:40 EST" in text


def test_pdf_headings_are_never_the_last_line_of_a_page(client, charted):
    therapist, patient, _ = charted
    _, pages = _text(client, therapist, patient)
    for page in pages[:-1]:
        lines = [line for line in page.splitlines() if line.strip() and "confidential" not in line
                 and "LINDQVIST" not in line]
        assert not re.match(r"^(IMS treatment|Gunn assessment|Consents|Outcome measures|Needles|Progress)\b",
                            lines[-1]), lines[-3:]


def test_an_empty_chart_prints_and_says_what_is_missing(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    draft = client.post(f"/api/v1/patients/{patient['id']}/assessments", json=assessment_body(episode["id"]),
                        headers=therapist.headers)
    assert draft.status_code == 201
    text, _ = _text(client, therapist, patient)
    assert "No consent on file." in text and "No precaution screening on file." in text
    assert "No signed clinical note." in text and "No outcome measure recorded." in text
    assert "Not printed: 1 unsigned draft note(s)" in text
    assert "Left buttock and leg pain" not in text  # a draft is not part of the signed record
