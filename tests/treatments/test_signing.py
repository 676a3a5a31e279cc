"""Every needle accounted for before the note is signed; signed sessions only change by amendment."""

from __future__ import annotations

from tests.treatments.helpers import ready_patient, record_session


def _draft(client, therapist, **overrides):
    patient, episode = ready_patient(client, therapist)
    response = record_session(client, therapist, patient["id"], episode["id"], **overrides)
    assert response.status_code == 201, response.text
    return response.json()


def sign(client, member, treatment_id):
    return client.post(f"/api/v1/treatments/{treatment_id}/sign", headers=member.headers)


def test_six_in_five_out_is_refused_six_out_signs(client, staff):
    therapist = staff("therapist")
    session = _draft(client, therapist, needles_removed=5)
    refused = sign(client, therapist, session["id"])
    assert refused.status_code == 409
    assert "6 inserted but 5 removed" in refused.json()["detail"]
    assert refused.json()["errors"][0]["field"] == "needles_removed"
    url = f"/api/v1/treatments/{session['id']}"
    fixed = client.patch(url, json={"needles_removed": 6}, headers={**therapist.headers, "If-Match": 'W/"1"'})
    assert fixed.status_code == 200
    signed = sign(client, therapist, session["id"])
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["status"] == "signed" and body["signed_by"] == str(therapist.id) and len(body["content_hash"]) == 64
    locked = client.patch(url, json={"plan": "x"}, headers={**therapist.headers, "If-Match": signed.headers["etag"]})
    assert locked.status_code == 409
    assert client.delete(url, headers=therapist.headers).status_code == 409


def test_uncounted_removal_cannot_be_signed(client, staff):
    therapist = staff("therapist")
    session = _draft(client, therapist)
    response = sign(client, therapist, session["id"])
    assert response.status_code == 409 and "needles_removed is not recorded" in response.json()["detail"]


def test_a_documented_retained_needle_allows_a_shortfall(client, staff):
    therapist = staff("therapist")
    session = _draft(client, therapist, needles_removed=5, adverse_events=[{
        "kind": "retained_needle", "severity": "moderate", "action_taken": "Patient referred to ED for removal",
        "follow_up": "Call tomorrow"}])
    assert sign(client, therapist, session["id"]).status_code == 200


def test_more_removed_than_inserted_is_never_accepted(client, staff):
    therapist = staff("therapist")
    session = _draft(client, therapist, needles_removed=7, adverse_events=[{
        "kind": "retained_needle", "severity": "mild"}])
    assert sign(client, therapist, session["id"]).status_code == 409


def test_only_the_rostered_author_signs(client, staff, db):
    author, colleague = staff("therapist"), staff("therapist")
    session = _draft(client, author, needles_removed=6)
    assert sign(client, colleague, session["id"]).status_code == 403
    from sqlalchemy import update

    from app.models import User
    db.execute(update(User).where(User.id == author.id).values(authorized_to_needle=False))
    response = sign(client, author, session["id"])
    assert response.status_code == 403 and "rostered" in response.json()["detail"]


def test_consent_withdrawn_before_signing_blocks_the_signature(client, staff):
    therapist = staff("therapist")
    session = _draft(client, therapist, needles_removed=6)
    patient_id = session["patient_id"]
    for c in client.get(f"/api/v1/patients/{patient_id}/consents", headers=therapist.headers).json():
        if c["kind"] == "electrical_stimulation":
            client.post(f"/api/v1/patients/{patient_id}/consents/{c['id']}/withdraw", headers=therapist.headers,
                        json={"withdrawn_at": session["started_at"]})
    response = sign(client, therapist, session["id"])
    assert response.status_code == 409 and "electrical_stimulation" in response.json()["detail"]


def test_amendment_keeps_the_signed_original(client, staff):
    therapist = staff("therapist")
    session = _draft(client, therapist, needles_removed=6)
    original = sign(client, therapist, session["id"]).json()
    url = f"/api/v1/treatments/{session['id']}"
    amended = client.post(f"{url}/amendments", headers=therapist.headers, json={
        "reason": "post-treatment NPRS entered wrongly", "changes": {"post_pain_nprs": 3}})
    assert amended.status_code == 201, amended.text
    assert amended.json()["post_pain_nprs"] == 3 and amended.json()["revision"] == 2
    history = client.get(f"{url}/history", headers=therapist.headers).json()
    assert [(r["revision"], r["kind"], r["reason"]) for r in history] == [
        (1, "original", None), (2, "amendment", "post-treatment NPRS entered wrongly")]
    first = client.get(f"{url}/history/1", headers=therapist.headers).json()
    assert first["content"]["post_pain_nprs"] == original["post_pain_nprs"] == 4
    broken = client.post(f"{url}/amendments", headers=therapist.headers, json={
        "reason": "count", "changes": {"needles_removed": 4}})
    assert broken.status_code == 409  # an amendment cannot un-account a needle
