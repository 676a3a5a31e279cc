"""Recording an IMS session: the needle log, derived counts, and the safety gates."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models import Treatment
from tests.assessments.helpers import open_episode
from tests.factories import join_care_team, make_patient
from tests.treatments.helpers import consent, needle, ready_patient, record_session, screen, six_needles


def test_session_with_six_needles_and_e_stim(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    response = record_session(client, therapist, patient["id"], episode["id"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "draft" and body["author_id"] == str(therapist.id)
    assert len(body["needles"]) == 6 and body["needles_inserted"] == 6
    assert body["muscles_needled"] == sorted(["multifidus_l5", "multifidus_s1", "gluteus_medius", "tibialis_anterior",
                                              "extensor_hallucis_longus", "peroneus_longus"])
    assert body["total_insertions"] == 17 and body["billing_cpt"] == "20561"
    assert body["needles"][0]["e_stim"]["frequency_hz"] == 2 and body["needles"][2]["e_stim"] is None
    assert body["needles"][3]["kind"] == "peripheral"  # filled in from the reference muscle
    assert body["warnings"] == []
    got = client.get(f"/api/v1/treatments/{body['id']}", headers=therapist.headers)
    assert got.status_code == 200 and got.json()["needles"] == body["needles"]


def test_no_ims_consent_no_session(client, staff, db):
    therapist = staff("therapist")
    ready_patient(client, therapist)
    other = client.post("/api/v1/patients", json={"given_name": "No", "family_name": "Consent",
                                                  "birth_date": "1970-01-01"}, headers=therapist.headers).json()
    ep = client.post(f"/api/v1/patients/{other['id']}/episodes", json={"conditions": ["sciatica"]},
                     headers=therapist.headers).json()
    response = record_session(client, therapist, other["id"], ep["id"], needles=six_needles(e_stim=False))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "IMS dry-needling consent" in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "consent"
    assert db.scalar(select(func.count()).select_from(Treatment)) == 0


def test_withdrawn_consent_no_longer_counts(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    consents = client.get(f"/api/v1/patients/{patient['id']}/consents", headers=therapist.headers).json()
    ims = next(c for c in consents if c["kind"] == "ims_dry_needling")
    withdrawn = client.post(f"/api/v1/patients/{patient['id']}/consents/{ims['id']}/withdraw",
                            json={"reason": "patient declined further needling"}, headers=therapist.headers)
    assert withdrawn.status_code == 200 and withdrawn.json()["active"] is False
    assert record_session(client, therapist, patient["id"], episode["id"]).status_code == 409


def test_e_stim_without_its_consent_is_refused_naming_the_needles(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist, e_stim_consent=False)
    response = record_session(client, therapist, patient["id"], episode["id"])
    assert response.status_code == 409
    problem = response.json()
    assert "electrical_stimulation consent" in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["needles[0].e_stim", "needles[1].e_stim"]
    ok = record_session(client, therapist, patient["id"], episode["id"], needles=six_needles(e_stim=False))
    assert ok.status_code == 201


def test_e_stim_refused_with_a_pacemaker(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist, pacemaker_or_implanted_device=True)
    response = record_session(client, therapist, patient["id"], episode["id"])
    assert response.status_code == 409 and "pacemaker" in response.json()["detail"]
    assert record_session(client, therapist, patient["id"], episode["id"],
                          needles=six_needles(e_stim=False)).status_code == 201


def test_therapist_not_rostered_cannot_author(client, staff):
    unrostered = staff("therapist", authorized_to_needle=False)
    rostered = staff("therapist")
    patient, episode = ready_patient(client, rostered)
    join_care_team(client, rostered, patient["id"], unrostered)
    response = record_session(client, unrostered, patient["id"], episode["id"])
    assert response.status_code == 403 and "rostered" in response.json()["detail"]


def test_precautions_come_back_as_warnings(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist, anticoagulants=True, pregnancy=True, lymphedema=True,
                                     lymphedema_limb="left_leg", lung_field_caution=True)
    needles = [needle("gluteus_medius", "L5"), needle("multifidus_t4", "T4", kind="paraspinal"),
               needle("upper_trapezius", "C3", side="right"), needle("deltoid", "C5", side="left")]
    refused = record_session(client, therapist, patient["id"], episode["id"], needles=needles, needles_inserted=4)
    assert refused.status_code == 409, refused.text  # gluteus medius, left leg = the lymphedema limb
    assert [e["field"] for e in refused.json()["errors"]] == ["needles[0]"]
    override = {"item": "lymphedema", "reason": "oncology team agreed; single needle, strict asepsis"}
    response = record_session(client, therapist, patient["id"], episode["id"], needles=needles, needles_inserted=4,
                              safety_overrides=[override])
    assert response.status_code == 201, response.text
    messages = " | ".join(w["message"] for w in response.json()["warnings"])
    assert "bleeding risk (anticoagulants)" in messages
    assert "pregnancy" in messages and "override recorded" in messages
    fields = {w["field"] for w in response.json()["warnings"]}
    assert {"needles[1]", "needles[2]"} <= fields  # thoracic paraspinal and upper trapezius over the lung field
    assert "needles[3]" not in fields  # left deltoid: not the affected limb, not a lung-field site


def test_consent_must_predate_the_session(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)  # consent obtained now
    earlier = record_session(client, therapist, patient["id"], episode["id"], started_at="2026-01-02T10:00:00Z",
                             needles=six_needles(e_stim=False))
    assert earlier.status_code == 409 and earlier.json()["errors"][0]["field"] == "consent"


def test_needling_without_a_current_screen_is_refused(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist, family_name="Unscreened")
    episode = open_episode(client, therapist, patient["id"])
    consent(client, therapist, patient["id"])
    response = record_session(client, therapist, patient["id"], episode["id"], needles=six_needles(e_stim=False))
    assert response.status_code == 409, response.text
    assert response.json()["errors"][0]["field"] == "screening" and "none is on file" in response.json()["detail"]
    empty = record_session(client, therapist, patient["id"], episode["id"], needles=[], needles_inserted=0)
    assert empty.status_code == 201  # a draft with no needles yet needs no screen


def test_a_screen_older_than_the_clinics_validity_is_not_current(client, staff):
    therapist, admin = staff("therapist"), staff("admin")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    consent(client, therapist, patient["id"], obtained_at="2026-01-01T09:00:00Z")
    screen(client, therapist, patient["id"], screened_at="2026-01-01T09:05:00Z")
    stale = record_session(client, therapist, patient["id"], episode["id"], needles=six_needles(e_stim=False))
    assert stale.status_code == 409 and "30 day(s)" in stale.json()["detail"]
    etag = client.get("/api/v1/clinic", headers=admin.headers).headers["etag"]
    changed = client.patch("/api/v1/clinic", json={"screening_valid_days": 365},
                           headers={**admin.headers, "If-Match": etag})
    assert changed.status_code == 200 and changed.json()["screening_valid_days"] == 365
    response = record_session(client, therapist, patient["id"], episode["id"], needles=six_needles(e_stim=False))
    assert response.status_code == 201, response.text
    old = [w for w in response.json()["warnings"] if w["field"] == "screening"]
    assert old and "day(s) old" in old[0]["message"]  # still re-check: older than screening_recheck_days
    etag = client.get("/api/v1/clinic", headers=admin.headers).headers["etag"]
    assert client.patch("/api/v1/clinic", json={"screening_recheck_days": 365},
                        headers={**admin.headers, "If-Match": etag}).status_code == 200
    again = client.get(f"/api/v1/treatments/{response.json()['id']}", headers=therapist.headers).json()
    assert not any(w["field"] == "screening" for w in again["warnings"])


def test_bad_needle_entries_name_the_field(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    cases = [
        ([needle("no_such_muscle", "L5")], "needles[0].muscle"),
        ([needle("gluteus_medius", "L5", kind="paraspinal")], "needles[0].kind"),
        ([needle("gluteus_medius", "Z5")], "needles[0].level"),
        ([needle("gluteus_medius", "L5", insertions=0)], "needles[0].insertions"),
        ([needle("gluteus_medius", "L5", responses=["ouch"])], "needles[0].responses[0]"),
        ([{**needle("gluteus_medius", "L5"), "e_stim": {"frequency_hz": -1, "pulse_width_us": 250,
                                                        "intensity_ma": 2, "duration_min": 5}}],
         "needles[0].e_stim.frequency_hz"),
    ]
    for needles, field in cases:
        response = record_session(client, therapist, patient["id"], episode["id"], needles=needles,
                                  needles_inserted=1)
        assert response.status_code == 422, (field, response.text)
        assert field in [e["field"] for e in response.json()["errors"]]
    for extra, field in [({"pre_pain_nprs": 11}, "pre_pain_nprs"), ({"tolerance": "meh"}, "tolerance"),
                         ({"needles_inserted": 2}, "needles_inserted")]:
        response = record_session(client, therapist, patient["id"], episode["id"], **extra)
        assert response.status_code == 422 and field in [e["field"] for e in response.json()["errors"]]


def test_reception_never_sees_sessions_consents_or_screens(client, staff):
    therapist, reception, auditor = staff("therapist"), staff("reception"), staff("auditor")
    patient, episode = ready_patient(client, therapist)
    treatment = record_session(client, therapist, patient["id"], episode["id"]).json()
    for path in (f"/api/v1/treatments/{treatment['id']}", f"/api/v1/patients/{patient['id']}/treatments",
                 f"/api/v1/patients/{patient['id']}/consents", f"/api/v1/patients/{patient['id']}/screenings",
                 f"/api/v1/patients/{patient['id']}/screenings/current"):
        assert client.get(path, headers=reception.headers).status_code == 403, path
        assert client.get(path, headers=auditor.headers).status_code == 200, path
    assert record_session(client, auditor, patient["id"], episode["id"]).status_code == 403
