"""The safety rules hold on every path: create, edit, sign and amend, and only for an accountable clinician."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.models import AuditEvent, User
from app.models.clinical import ClinicalRevision
from tests.factories import join_care_team
from tests.integrations.helpers import api_client, bearer
from tests.treatments.helpers import leads_for, needle, ready_patient, record_session, screen, six_needles

RETAINED = {"kind": "retained_needle", "severity": "moderate", "action_taken": "Referred to ED for removal"}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _draft(client, therapist, *, patient_flags: dict[str, Any] | None = None, **overrides) -> dict[str, Any]:
    patient, episode = ready_patient(client, therapist, **(patient_flags or {}))
    response = record_session(client, therapist, patient["id"], episode["id"], **overrides)
    assert response.status_code == 201, response.text
    return response.json()


def _sign(client, member, treatment_id):
    return client.post(f"/api/v1/treatments/{treatment_id}/sign", headers=member.headers)


def _patch(client, member, treatment: dict[str, Any], body: dict[str, Any]):
    return client.patch(f"/api/v1/treatments/{treatment['id']}", json=body,
                        headers={**member.headers, "If-Match": f'W/"{treatment["version"]}"'})


def _signed(client, therapist, **overrides) -> dict[str, Any]:
    draft = _draft(client, therapist, needles_removed=6, **overrides)
    signed = _sign(client, therapist, draft["id"])
    assert signed.status_code == 200, signed.text
    return signed.json()


def _amend(client, member, treatment_id, changes: dict[str, Any], reason: str = "correcting the record"):
    return client.post(f"/api/v1/treatments/{treatment_id}/amendments", json={"reason": reason, "changes": changes},
                       headers=member.headers)


# --- 1. only a signed-in clinician stamps a clinical entry -------------------------------------------------


def test_an_api_client_cannot_author_clinical_entries(client, staff, db):
    admin, therapist = staff("admin"), staff("therapist")
    patient, episode = ready_patient(client, therapist)
    signed = _signed(client, therapist)
    key = bearer(api_client(client, admin, ["clinical:read", "clinical:write", "patients:read"])["key"])
    pid = patient["id"]
    ims = next(c for c in client.get(f"/api/v1/patients/{pid}/consents", headers=key).json()
               if c["kind"] == "ims_dry_needling")
    writes = [
        ("create treatment", "POST", f"/api/v1/patients/{pid}/treatments", {"episode_id": episode["id"],
                                                                            "needles": six_needles(e_stim=False)}),
        ("create consent", "POST", f"/api/v1/patients/{pid}/consents",
         {"kind": "data_sharing", "method": "verbal"}),
        ("create consent for a named clinician", "POST", f"/api/v1/patients/{pid}/consents",
         {"kind": "data_sharing", "method": "verbal", "obtained_by": str(therapist.id)}),
        ("withdraw consent", "POST", f"/api/v1/patients/{pid}/consents/{ims['id']}/withdraw", {"reason": "x"}),
        ("create screening", "POST", f"/api/v1/patients/{pid}/screenings", {"anticoagulants": True}),
        ("administer outcome", "POST", f"/api/v1/patients/{pid}/outcomes", {"instrument": "nprs", "responses": [5]}),
        ("sign", "POST", f"/api/v1/treatments/{signed['id']}/sign", None),
        ("amend", "POST", f"/api/v1/treatments/{signed['id']}/amendments",
         {"reason": "integration correction", "changes": {"post_pain_nprs": 2}}),
    ]
    for name, method, path, body in writes:
        response = client.request(method, path, json=body, headers=key)
        assert response.status_code == 403, (name, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "API client" in response.json()["detail"], name
    assert client.get(f"/api/v1/patients/{pid}/consents/{ims['id']}", headers=key).json()["active"] is True
    assert db.scalar(select(func.count()).select_from(ClinicalRevision)
                     .where(ClinicalRevision.record_id == uuid.UUID(signed["id"]))) == 1
    assert client.get(f"/api/v1/treatments/{signed['id']}", headers=key).status_code == 200  # reading is fine
    # Every refusal is put on record against the client, by the access policy, naming the patient.
    denied = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied",
                                                 AuditEvent.actor_type == "api_client")).all()
    assert len(denied) == len(writes)
    assert {(e.action, e.detail["reason"]) for e in denied} == {("access", "api keys author no clinical content")}
    assert {str(e.patient_id) for e in denied} == {pid, signed["patient_id"]}  # the signed note is another's


def test_editing_a_signed_session_is_409_with_or_without_if_match(client, staff):
    therapist = staff("therapist")
    signed = _signed(client, therapist)
    path = f"/api/v1/treatments/{signed['id']}"
    bare = client.patch(path, json={"plan": "x"}, headers=therapist.headers)
    assert bare.status_code == 409, bare.text
    etag = {"If-Match": f'W/"{signed["version"]}"'}
    matched = client.patch(path, json={"plan": "x"}, headers={**therapist.headers, **etag})
    assert matched.status_code == 409


def test_screens_and_outcomes_reach_the_changes_feed_as_version_1(client, staff):
    therapist = staff("therapist")
    patient, _ = ready_patient(client, therapist)
    client.post(f"/api/v1/patients/{patient['id']}/outcomes", json={"instrument": "nprs", "responses": [5]},
                headers=therapist.headers)
    feed = client.get("/api/v1/changes", params={"types": "screening,outcome"}, headers=therapist.headers).json()
    assert sorted((i["resource_type"], i["change"], i["version"]) for i in feed["items"]) == [
        ("outcome", "created", 1), ("screening", "created", 1)]


# --- 2. amendments are held to the same rules as create and sign -------------------------------------------


def test_an_amendment_cannot_move_the_session_before_the_consent(client, staff):
    therapist = staff("therapist")
    signed = _signed(client, therapist, needles=six_needles(e_stim=False))
    before_consent = _iso(datetime.now(UTC) - timedelta(days=2))
    response = _amend(client, therapist, signed["id"], {"started_at": before_consent})
    assert response.status_code == 409, response.text
    assert response.json()["errors"][0]["field"] == "consent"
    assert "IMS dry-needling consent" in response.json()["detail"]
    history = client.get(f"/api/v1/treatments/{signed['id']}/history", headers=therapist.headers).json()
    assert [r["revision"] for r in history] == [1]


def test_an_amendment_cannot_add_e_stim_without_its_consent_or_over_a_pacemaker(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist, e_stim_consent=False)
    draft = record_session(client, therapist, patient["id"], episode["id"], needles=six_needles(e_stim=False),
                           needles_removed=6).json()
    assert _sign(client, therapist, draft["id"]).status_code == 200
    wired = {"needles": six_needles(e_stim=True), "e_stim_leads": leads_for(six_needles(e_stim=True))}
    response = _amend(client, therapist, draft["id"], wired)
    assert response.status_code == 409 and "electrical_stimulation consent" in response.json()["detail"]

    paced = _signed(client, therapist, needles=six_needles(e_stim=False),
                    patient_flags={"pacemaker_or_implanted_device": True})
    response = _amend(client, therapist, paced["id"], wired)
    assert response.status_code == 409 and "pacemaker" in response.json()["detail"]


def test_a_user_not_rostered_to_needle_cannot_amend(client, staff, db):
    author, unrostered = staff("therapist"), staff("therapist", authorized_to_needle=False)
    signed = _signed(client, author)
    join_care_team(client, author, signed["patient_id"], unrostered)
    response = _amend(client, unrostered, signed["id"], {"post_pain_nprs": 2})
    assert response.status_code == 403 and "rostered" in response.json()["detail"]
    db.execute(update(User).where(User.id == author.id).values(authorized_to_needle=False))
    assert _amend(client, author, signed["id"], {"post_pain_nprs": 2}).status_code == 403
    db.execute(update(User).where(User.id == author.id).values(authorized_to_needle=True))
    assert _amend(client, author, signed["id"], {"post_pain_nprs": 2}).status_code == 201


def test_a_rostered_colleague_may_amend_and_a_later_withdrawal_does_not_block_it(client, staff):
    author, colleague = staff("therapist"), staff("therapist")
    signed = _signed(client, author)
    pid = signed["patient_id"]
    join_care_team(client, author, pid, colleague)
    for c in client.get(f"/api/v1/patients/{pid}/consents", headers=author.headers).json():
        withdrawn = client.post(f"/api/v1/patients/{pid}/consents/{c['id']}/withdraw", headers=author.headers,
                                json={"reason": "no further needling"})
        assert withdrawn.status_code == 200
    response = _amend(client, colleague, signed["id"], {"post_pain_nprs": 2})
    assert response.status_code == 201, response.text  # consent is judged at the session's time
    assert response.json()["revision"] == 2


# --- the IMS consent at signing; pacemaker + e-stim on PATCH and sign ---------------------------------------


def test_signing_checks_the_ims_consent_at_the_session_time(client, staff):
    therapist = staff("therapist")
    draft = _draft(client, therapist, needles=six_needles(e_stim=False), needles_removed=6)
    screen(client, therapist, draft["patient_id"], screened_at=_iso(datetime.now(UTC) - timedelta(days=4)))
    earlier = _patch(client, therapist, draft, {"started_at": _iso(datetime.now(UTC) - timedelta(days=3))})
    assert earlier.status_code == 200, earlier.text  # a draft may be edited; the signature is the gate
    response = _sign(client, therapist, draft["id"])
    assert response.status_code == 409, response.text
    assert response.json()["errors"][0]["field"] == "consent"
    assert "IMS dry-needling consent" in response.json()["detail"]


def test_e_stim_with_a_pacemaker_is_refused_on_patch(client, staff):
    therapist = staff("therapist")
    draft = _draft(client, therapist, needles=six_needles(e_stim=False),
                   patient_flags={"pacemaker_or_implanted_device": True})
    response = _patch(client, therapist, draft, {"needles": six_needles(e_stim=True),
                                                 "e_stim_leads": leads_for(six_needles(e_stim=True))})
    assert response.status_code == 409 and "pacemaker" in response.json()["detail"]
    assert [e["field"] for e in response.json()["errors"]] == ["needles[0].e_stim", "needles[1].e_stim"]
    stored = client.get(f"/api/v1/treatments/{draft['id']}", headers=therapist.headers).json()
    assert all(n["e_stim"] is None for n in stored["needles"])


def test_e_stim_with_a_pacemaker_is_refused_at_signing(client, staff):
    therapist = staff("therapist")
    draft = _draft(client, therapist, needles_removed=6)  # e-stim on two needles, no pacemaker on the screen
    screen(client, therapist, draft["patient_id"], pacemaker_or_implanted_device=True)  # screened at the visit
    response = _sign(client, therapist, draft["id"])
    assert response.status_code == 409, response.text
    assert "pacemaker" in response.json()["detail"]
    assert client.get(f"/api/v1/treatments/{draft['id']}", headers=therapist.headers).json()["status"] == "draft"


# --- 4. over the lung: decided by the muscle's site, for every patient (issue 16) ---------------------------


@pytest.mark.parametrize(("muscle", "level", "warns"), [
    ("erector_spinae", "T6", True),
    ("iliocostalis_lumborum", "T8", True),
    ("latissimus_dorsi", "T7", True),
    ("latissimus_dorsi", "C7", True),  # roots C6-C8, but it lies on the posterior chest wall
    ("teres_major", "C6", True),
    ("subscapularis", "C6", True),
    ("quadratus_lumborum", "T12", True),
    ("quadratus_lumborum", "L1", True),  # the costodiaphragmatic recess can reach L1
    ("erector_spinae", "L1", True),
    ("multifidus_c7", "C7", True),  # the pleura runs from C7
    ("multifidus_l1", "L1", True),
    ("serratus_posterior_inferior", "T10", True),
    ("multifidus_t4", "T4", True),
    ("multifidus_t1", "C8", True),  # a thoracic paraspinal, whatever root it is needled for
    ("upper_trapezius", "C3", True),
    ("rhomboid_major", "C5", True),
    ("serratus_anterior", "C6", True),
    ("intercostals", "T5", True),
    ("pectoralis_major", "C7", True),
    ("scalenus_anterior", "C5", True),
    ("erector_spinae", "L3", False),
    ("quadratus_lumborum", "L3", False),
    ("multifidus_l4", "L4", False),
    ("deltoid", "C5", False),
    ("gluteus_medius", "L5", False),
])
def test_every_thoracic_needle_warns_with_its_length_and_depth(client, staff, muscle, level, warns):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)  # no lung-field caution on the screen
    response = record_session(client, therapist, patient["id"], episode["id"], needles=[needle(muscle, level)],
                              needles_inserted=1)
    assert response.status_code == 201, response.text
    lung = [w for w in response.json()["warnings"] if "pleura" in w["message"]]
    assert bool(lung) is warns, response.json()["warnings"]
    if warns:
        assert lung[0]["field"] == "needles[0]" and level in lung[0]["message"]
        assert "needle length 40 mm, depth 25 mm" in lung[0]["message"]
        assert "deeper than the 19 mm safe-depth rule" in lung[0]["message"]


def test_a_lung_field_caution_is_named_and_a_shallow_needle_is_within_the_rule(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist, lung_field_caution=True)
    response = record_session(client, therapist, patient["id"], episode["id"], needles_inserted=1,
                              needles=[needle("rhomboid_major", "C5", length_mm=25, depth_mm=12)])
    [warning] = [w for w in response.json()["warnings"] if "pleura" in w["message"]]
    assert "within the 19 mm safe-depth rule" in warning["message"] and "lung-field caution" in warning["message"]
    assert "longer than" not in warning["message"]


def test_bilateral_thoracic_needling_is_flagged(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    one_side = record_session(client, therapist, patient["id"], episode["id"], needles_inserted=2,
                              needles=[needle("rhomboid_major", "C5"), needle("lower_trapezius", "T6")])
    assert not [w for w in one_side.json()["warnings"] if "bilateral" in w["message"]]
    both = record_session(client, therapist, patient["id"], episode["id"], needles_inserted=2,
                          needles=[needle("rhomboid_major", "C5"), needle("multifidus_t5", "T5", side="right")])
    assert [w["field"] for w in both.json()["warnings"] if "bilateral" in w["message"]] == ["needles"]
    lumbar = record_session(client, therapist, patient["id"], episode["id"], needles_inserted=2,
                            needles=[needle("multifidus_l4", "L4"), needle("multifidus_l4", "L4", side="right")])
    assert not [w for w in lumbar.json()["warnings"] if "bilateral" in w["message"]]


def test_signing_a_thoracic_session_needs_pneumothorax_in_the_consent(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    pid = patient["id"]
    for c in client.get(f"/api/v1/patients/{pid}/consents", headers=therapist.headers).json():
        client.post(f"/api/v1/patients/{pid}/consents/{c['id']}/withdraw", headers=therapist.headers, json={})
    client.post(f"/api/v1/patients/{pid}/consents", headers=therapist.headers,
                json={"kind": "ims_dry_needling", "method": "written", "risks_discussed": ["bleeding_bruising"]})
    thoracic = record_session(client, therapist, pid, episode["id"], needles=[needle("rhomboid_major", "C5")],
                              needles_inserted=1, needles_removed=1).json()
    response = _sign(client, therapist, thoracic["id"])
    assert response.status_code == 409, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["consent.risks_discussed"]
    assert "pneumothorax" in response.json()["detail"]
    lumbar = record_session(client, therapist, pid, episode["id"], needles=[needle("multifidus_l4", "L4")],
                            needles_inserted=1, needles_removed=1).json()
    assert _sign(client, therapist, lumbar["id"]).status_code == 200  # no thoracic needle: not required
    client.post(f"/api/v1/patients/{pid}/consents", headers=therapist.headers,
                json={"kind": "ims_dry_needling", "method": "written", "risks_discussed": ["pneumothorax"]})
    assert _sign(client, therapist, thoracic["id"]).status_code == 200


# --- 5. each missing needle needs its own retained_needle event ---------------------------------------------


def test_one_retained_needle_event_does_not_cover_six_missing(client, staff):
    therapist = staff("therapist")
    draft = _draft(client, therapist, needles_removed=0, adverse_events=[RETAINED])
    response = _sign(client, therapist, draft["id"])
    assert response.status_code == 409, response.text
    problem = response.json()
    assert "5 needle(s) unaccounted for" in problem["detail"]
    assert problem["errors"][0]["field"] == "needles_removed"
    assert "5 unaccounted for" in problem["errors"][0]["message"]


def test_a_retained_needle_event_for_each_missing_needle_signs(client, staff):
    therapist = staff("therapist")
    two_short = _draft(client, therapist, needles_removed=4, adverse_events=[RETAINED])
    refused = _sign(client, therapist, two_short["id"])
    assert refused.status_code == 409 and "1 needle(s) unaccounted for" in refused.json()["detail"]
    fixed = _patch(client, therapist, two_short, {"adverse_events": [RETAINED, RETAINED]})
    assert fixed.status_code == 200, fixed.text
    assert _sign(client, therapist, two_short["id"]).status_code == 200


def test_an_amendment_cannot_drop_a_retained_needle_event(client, staff):
    therapist = staff("therapist")
    signed = _signed(client, therapist, adverse_events=[RETAINED, RETAINED])  # 6 in, 6 out: nothing retained
    amended = _amend(client, therapist, signed["id"], {"needles_removed": 4})
    assert amended.status_code == 201, amended.text  # two documented retained needles cover two missing
    dropped = _amend(client, therapist, signed["id"], {"adverse_events": [RETAINED]})
    assert dropped.status_code == 409 and "1 needle(s) unaccounted for" in dropped.json()["detail"]

