"""Draft -> sign -> amend -> history, and discard: the record keeps every word ever signed."""

from __future__ import annotations

from sqlalchemy import select, text

from app.models import AuditEvent
from app.models.clinical import ClinicalRevision
from tests.assessments.helpers import chart_visit, sign
from tests.factories import join_care_team


def test_author_edits_a_draft_with_if_match(client, staff):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist)
    url = f"/api/v1/assessments/{a['id']}"
    assert client.patch(url, json={"plan": "x"}, headers=therapist.headers).status_code == 428
    stale = client.patch(url, json={"plan": "x"}, headers={**therapist.headers, "If-Match": 'W/"7"'})
    assert stale.status_code == 412
    ok = client.patch(url, json={"plan": "IMS weekly x6"}, headers={**therapist.headers, "If-Match": 'W/"1"'})
    assert ok.status_code == 200, ok.text
    assert ok.json()["plan"] == "IMS weekly x6"
    assert ok.json()["findings"] == a["findings"]  # untouched fields stay
    assert ok.headers["etag"] == 'W/"2"'


def test_only_the_author_edits_or_signs_a_draft(client, staff):
    author, colleague = staff("therapist"), staff("therapist")
    _, _, a = chart_visit(client, author)
    url = f"/api/v1/assessments/{a['id']}"
    response = client.patch(url, json={"plan": "x"}, headers={**colleague.headers, "If-Match": 'W/"1"'})
    assert response.status_code == 403
    assert sign(client, colleague, a["id"]).status_code == 403
    assert client.delete(url, headers=colleague.headers).status_code == 403


def test_signing_locks_the_note(client, staff):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist)
    url = f"/api/v1/assessments/{a['id']}"
    signed = sign(client, therapist, a["id"])
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["status"] == "signed"
    assert body["signed_by"] == str(therapist.id)
    assert body["signed_at"] is not None
    assert len(body["content_hash"]) == 64
    assert body["revision"] == 1
    version = signed.headers["etag"]
    assert client.patch(url, json={"plan": "x"}, headers={**therapist.headers, "If-Match": version}).status_code == 409
    assert client.delete(url, headers=therapist.headers).status_code == 409
    assert sign(client, therapist, a["id"]).status_code == 409
    assert client.get(url, headers=therapist.headers).json()["content_hash"] == body["content_hash"]


def test_sign_with_a_stale_if_match_is_refused(client, staff):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist)
    response = client.post(f"/api/v1/assessments/{a['id']}/sign", headers={**therapist.headers, "If-Match": 'W/"9"'})
    assert response.status_code == 412


def test_amendment_keeps_the_original_readable(client, staff):
    author, colleague = staff("therapist"), staff("therapist")
    _, _, a = chart_visit(client, author)
    join_care_team(client, author, a["patient_id"], colleague)  # the author brings a colleague onto the team
    original = sign(client, author, a["id"]).json()
    url = f"/api/v1/assessments/{a['id']}"
    new_impression = [{"level": "L5", "side": "left"}]
    amendment = client.post(f"{url}/amendments", headers=colleague.headers, json={
        "reason": "S1 findings belonged to a different visit", "changes": {"impression": new_impression}})
    assert amendment.status_code == 201, amendment.text
    amended = amendment.json()
    assert amended["impression"] == new_impression
    assert amended["status"] == "signed" and amended["revision"] == 2
    assert amended["content_hash"] != original["content_hash"]
    assert amended["findings"] == original["findings"]
    assert client.get(url, headers=author.headers).json()["impression"] == new_impression

    history = client.get(f"{url}/history", headers=author.headers)
    assert history.status_code == 200
    revisions = history.json()
    assert [(r["revision"], r["kind"]) for r in revisions] == [(1, "original"), (2, "amendment")]
    assert revisions[0]["author_id"] == str(author.id) and revisions[0]["reason"] is None
    assert revisions[1]["author_id"] == str(colleague.id)
    assert revisions[1]["reason"] == "S1 findings belonged to a different visit"
    assert revisions[0]["content_hash"] == original["content_hash"]
    first = client.get(f"{url}/history/1", headers=author.headers).json()
    assert first["content"]["impression"] == original["impression"]
    assert client.get(f"{url}/history/3", headers=author.headers).status_code == 404


def test_amendment_is_validated_and_needs_a_reason(client, staff):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist)
    url = f"/api/v1/assessments/{a['id']}"
    draft_amend = client.post(f"{url}/amendments", headers=therapist.headers,
                              json={"reason": "typo in plan", "changes": {"plan": "x"}})
    assert draft_amend.status_code == 409  # drafts are edited, not amended
    sign(client, therapist, a["id"])
    no_reason = client.post(f"{url}/amendments", headers=therapist.headers, json={"changes": {"plan": "x"}})
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    bad = client.post(f"{url}/amendments", headers=therapist.headers, json={
        "reason": "wrong level", "changes": {"findings": [{"level": "Q1", "side": "left"}]}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "changes.findings[0].level"
    same = client.post(f"{url}/amendments", headers=therapist.headers,
                       json={"reason": "no change", "changes": {"plan": a["plan"]}})
    assert same.status_code == 409
    assert len(client.get(f"{url}/history", headers=therapist.headers).json()) == 1


def test_discarded_draft_is_kept_but_hidden(client, staff):
    therapist = staff("therapist")
    patient, _, a = chart_visit(client, therapist)
    url = f"/api/v1/assessments/{a['id']}"
    assert client.delete(url, headers=therapist.headers).status_code == 204
    kept = client.get(url, headers=therapist.headers)
    assert kept.status_code == 200 and kept.json()["status"] == "discarded"
    listing = client.get(f"/api/v1/patients/{patient['id']}/assessments", headers=therapist.headers).json()
    assert listing["items"] == []
    listing = client.get(f"/api/v1/patients/{patient['id']}/assessments?include_discarded=true",
                         headers=therapist.headers).json()
    assert [x["id"] for x in listing["items"]] == [a["id"]]
    assert sign(client, therapist, a["id"]).status_code == 409


def test_revisions_are_append_only_in_the_database(client, staff, db, engine_kind):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist)
    sign(client, therapist, a["id"])
    assert db.scalar(select(ClinicalRevision.revision)) == 1
    for statement in ("UPDATE clinical_revisions SET reason = 'rewritten'", "DELETE FROM clinical_revisions"):
        try:
            db.execute(text(statement))
            db.commit()
        except Exception:
            db.rollback()
        else:
            raise AssertionError(f"{statement} was allowed")
    assert db.scalar(select(ClinicalRevision.reason)) is None


def test_patch_on_a_signed_note_is_409_even_without_if_match(client, staff):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist)
    sign(client, therapist, a["id"])
    response = client.patch(f"/api/v1/assessments/{a['id']}", json={"plan": "x"}, headers=therapist.headers)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    _, _, discarded = chart_visit(client, therapist)
    url = f"/api/v1/assessments/{discarded['id']}"
    client.delete(url, headers=therapist.headers)
    assert client.patch(url, json={"plan": "x"}, headers=therapist.headers).status_code == 409


def test_refused_writes_are_audited(client, staff, db):
    author, colleague = staff("therapist"), staff("therapist")
    _, _, draft = chart_visit(client, author)
    _, _, signed = chart_visit(client, author)
    sign(client, author, signed["id"])
    join_care_team(client, author, draft["patient_id"], colleague)  # in care, but still not the draft's author
    draft_url, signed_url = f"/api/v1/assessments/{draft['id']}", f"/api/v1/assessments/{signed['id']}"
    v1 = {"If-Match": 'W/"1"'}
    assert client.patch(draft_url, json={"plan": "x"}, headers={**colleague.headers, **v1}).status_code == 403
    assert sign(client, colleague, draft["id"]).status_code == 403
    assert client.delete(draft_url, headers=colleague.headers).status_code == 403
    assert client.patch(signed_url, json={"plan": "x"}, headers={**author.headers, **v1}).status_code == 409
    assert client.delete(signed_url, headers=author.headers).status_code == 409

    def failures(note: dict) -> list[tuple]:
        rows = db.scalars(select(AuditEvent).where(AuditEvent.resource_id == note["id"],
                                                   AuditEvent.outcome != "success")).all()
        assert {(r.resource_type, str(r.patient_id)) for r in rows} == {("Assessment", note["patient_id"])}
        return sorted((r.action, r.outcome, r.actor_id) for r in rows)

    assert failures(draft) == sorted([("update", "denied", colleague.id), ("sign", "denied", colleague.id),
                                            ("discard", "denied", colleague.id)])
    assert failures(signed) == sorted([("update", "refused", author.id), ("discard", "refused", author.id)])
    # the refusal changed nothing
    assert client.get(draft_url, headers=author.headers).json()["version"] == 1
