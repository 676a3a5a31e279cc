"""Consents and precaution screens: on file, withdrawn not deleted, the latest screen is current."""

from __future__ import annotations

from tests.factories import make_patient
from tests.treatments.helpers import RISKS, consent, screen


def test_consent_recorded_listed_and_withdrawn(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    base = f"/api/v1/patients/{patient['id']}/consents"
    created = consent(client, therapist, patient["id"], patient_questions="Will it hurt?")
    assert created["active"] is True and created["obtained_by"] == str(therapist.id)
    assert created["risks_discussed"] == sorted(RISKS) and created["method"] == "written"
    assert client.get(f"{base}/{created['id']}", headers=therapist.headers).json()["form_version"] == "IMS-2026-01"
    withdrawn = client.post(f"{base}/{created['id']}/withdraw", json={"reason": "changed mind"},
                            headers=therapist.headers)
    assert withdrawn.status_code == 200
    body = withdrawn.json()
    assert body["active"] is False and body["withdrawal_reason"] == "changed mind"
    assert body["withdrawn_by"] == str(therapist.id)
    again = client.post(f"{base}/{created['id']}/withdraw", headers=therapist.headers)
    assert again.status_code == 409
    listing = client.get(base, headers=therapist.headers).json()
    assert [c["id"] for c in listing] == [created["id"]]  # kept on file
    assert client.delete(f"{base}/{created['id']}", headers=therapist.headers).status_code == 405


def test_bad_consents_name_the_field(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    base = f"/api/v1/patients/{patient['id']}/consents"
    for body, field in [({"kind": "tattoo", "method": "written"}, "kind"),
                        ({"kind": "ims_dry_needling", "method": "telepathy"}, "method"),
                        ({"kind": "ims_dry_needling", "method": "verbal", "risks_discussed": ["boredom"]},
                         "risks_discussed[0]"),
                        ({"kind": "ims_dry_needling", "method": "verbal", "obtained_at": "2999-01-01T00:00:00Z"},
                         "obtained_at"),
                        ({"kind": "ims_dry_needling", "method": "verbal",
                          "obtained_by": "00000000-0000-0000-0000-000000000000"}, "obtained_by")]:
        response = client.post(base, json=body, headers=therapist.headers)
        assert response.status_code == 422, body
        assert field in [e["field"] for e in response.json()["errors"]]
    other = make_patient(client, therapist, family_name="Other")
    theirs = consent(client, therapist, other["id"])
    assert client.get(f"{base}/{theirs['id']}", headers=therapist.headers).status_code == 404


def test_latest_screen_is_current(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    base = f"/api/v1/patients/{patient['id']}/screenings"
    assert client.get(f"{base}/current", headers=therapist.headers).status_code == 404
    screen(client, therapist, patient["id"], screened_at="2026-11-01T10:00:00Z", anticoagulants=True)
    latest = screen(client, therapist, patient["id"], lymphedema=True, lymphedema_limb="right_arm", notes="mastectomy")
    assert latest["precautions"] == ["lymphedema"] and latest["lymphedema_limb"] == "right_arm"
    current = client.get(f"{base}/current", headers=therapist.headers).json()
    assert current["id"] == latest["id"] and current["anticoagulants"] is False
    newest, *_ = client.get(base, headers=therapist.headers).json()
    assert newest["id"] == latest["id"]


def test_bad_screens_are_refused(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    base = f"/api/v1/patients/{patient['id']}/screenings"
    assert client.post(base, json={"lymphedema_limb": "left_arm"}, headers=therapist.headers).status_code == 422
    assert client.post(base, json={"smoker": True}, headers=therapist.headers).status_code == 422
    response = client.post(base, json={"screened_at": "2999-01-01T00:00:00Z"}, headers=therapist.headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "screened_at"
