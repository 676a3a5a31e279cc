"""Every request example in the OpenAPI document works: replayed in story order, each one succeeds.

The examples tell one visit (app/kit/openapi.py): an admin adds a therapist rostered to needle, who signs in
with the token example (a form); the admin sets the therapist's week and adds a visit type. The therapist
registers the patient, opens an episode, assesses, acknowledges the red flag the assessment records, records
consents (IMS and electrical stimulation, which the treatment example uses), screens, treats, signs, amends and
records an outcome. The front desk books her visits; a colleague outside her care breaks the glass and then
joins the care team. The ids in the examples are placeholders; each step sends the ids earlier responses
returned.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Member
from tests.integrations.conftest import Receiver

# (who, method, path, named example or None) in the order a first visit happens.
STORY: list[tuple[str, str, str, str | None]] = [
    ("admin", "post", "/api/v1/users", None),
    ("anyone", "post", "/api/v1/auth/token", None),
    # The therapist's week (before anything is booked) and the clinic's follow-up visit type.
    ("admin", "put", "/api/v1/therapists/{therapist_id}/schedule", None),
    ("admin", "post", "/api/v1/therapists/{therapist_id}/schedule/exceptions", None),
    ("admin", "post", "/api/v1/appointment-types", None),
    ("admin", "patch", "/api/v1/appointment-types/{type_id}", None),
    ("therapist", "post", "/api/v1/patients", None),
    ("therapist", "patch", "/api/v1/patients/{patient_id}", None),
    ("therapist", "post", "/api/v1/patients/{patient_id}/episodes", None),
    ("therapist", "patch", "/api/v1/episodes/{episode_id}", None),
    ("therapist", "post", "/api/v1/patients/{patient_id}/assessments", None),
    ("therapist", "patch", "/api/v1/assessments/{assessment_id}", None),
    ("therapist", "post", "/api/v1/assessments/{assessment_id}/sign", None),
    ("therapist", "post", "/api/v1/assessments/{assessment_id}/amendments", None),
    ("therapist", "post", "/api/v1/patients/{patient_id}/red-flags/acknowledgements", None),
    ("therapist", "post", "/api/v1/patients/{patient_id}/consents", "ims_dry_needling"),
    ("therapist", "post", "/api/v1/patients/{patient_id}/consents", "electrical_stimulation"),
    ("therapist", "post", "/api/v1/patients/{patient_id}/screenings", None),
    ("therapist", "post", "/api/v1/patients/{patient_id}/treatments", None),
    ("therapist", "patch", "/api/v1/treatments/{treatment_id}", None),
    ("therapist", "post", "/api/v1/treatments/{treatment_id}/sign", None),
    ("therapist", "post", "/api/v1/treatments/{treatment_id}/amendments", None),
    ("therapist", "post", "/api/v1/patients/{patient_id}/outcomes", None),
    # The front desk books her next visit and the weekly course; she moves the visit, then cancels it.
    ("reception", "post", "/api/v1/appointments", None),
    ("reception", "post", "/api/v1/appointments/series", None),
    ("reception", "patch", "/api/v1/appointments/{appointment_id}", None),
    ("reception", "post", "/api/v1/appointments/{appointment_id}/cancel", None),
    # A colleague outside her care sees her in an emergency, then covers the rest of the course.
    ("covering", "post", "/api/v1/patients/{patient_id}/break-glass", None),
    ("reception", "post", "/api/v1/patients/{patient_id}/care-team", None),
    ("therapist", "post", "/api/v1/patients/{patient_id}/consents/{consent_id}/withdraw", None),
    ("therapist", "post", "/api/v1/episodes/{episode_id}/discharge", None),
    # The clinic's admin work around the visit.
    ("admin", "patch", "/api/v1/users/{user_id}", None),
    ("admin", "patch", "/api/v1/clinic", None),
    ("admin", "post", "/api/v1/api-clients", None),
    ("admin", "post", "/api/v1/webhooks", None),
    ("admin", "patch", "/api/v1/webhooks/{webhook_id}", None),
    ("admin", "post", "/api/v1/exports", None),
    ("admin", "post", "/api/v1/imports/patients", None),
    ("admin", "post", "/api/v1/imports/appointments", None),  # the imported patient's booking (chart C-1001)
    ("admin", "post", "/fhir/Patient/$export", None),
    ("admin", "post", "/fhir/$export", None),
]
# Which id a created resource's response provides, by the collection it was posted to.
CREATES = {"/api/v1/users": "user_id", "/api/v1/patients": "patient_id",
           "/api/v1/patients/{patient_id}/episodes": "episode_id",
           "/api/v1/patients/{patient_id}/assessments": "assessment_id",
           "/api/v1/patients/{patient_id}/consents": "consent_id",
           "/api/v1/patients/{patient_id}/treatments": "treatment_id", "/api/v1/webhooks": "webhook_id",
           "/api/v1/appointment-types": "type_id", "/api/v1/appointments": "appointment_id"}
# The resource a PATCH edits (or a POST that needs If-Match acts on) is read first for its ETag.
READ_FOR_ETAG = {"/api/v1/clinic": "/api/v1/clinic",
                 "/api/v1/appointments/{appointment_id}/cancel": "/api/v1/appointments/{appointment_id}"}
# No GET reads one appointment type: its PATCH sends the ETag the create answered.
ETAG_OF_CREATED = {"/api/v1/appointment-types/{type_id}": "type_id"}
# Ids in a body that are not the story's id of that name: the care-team example adds the covering colleague.
BODY_IDS = {"/api/v1/patients/{patient_id}/care-team": {"user_id": "colleague_id"}}
# Headers a request needs besides its body: FHIR bulk export is asynchronous only.
HEADERS = {"/fhir/$export": {"Prefer": "respond-async"}, "/fhir/Patient/$export": {"Prefer": "respond-async"}}


def _example(op: dict[str, Any], named: str | None) -> tuple[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {})
    for media_type, media in content.items():
        if named is not None:
            return media_type, media["examples"][named]["value"]
        if "example" in media:
            return media_type, media["example"]
        return media_type, next(iter(media["examples"].values()))["value"]
    return None


def _with_ids(body: Any, ids: dict[str, str]) -> Any:
    """Placeholder ids (`episode_id`, `assessment_id`, ...) in an example body -> the story's real ids."""
    if isinstance(body, dict):
        return {k: ids[k] if k in ids and isinstance(v, str) else _with_ids(v, ids) for k, v in body.items()}
    if isinstance(body, list):
        return [_with_ids(v, ids) for v in body]
    return body


def test_the_examples_replay_as_one_visit(client: TestClient, staff) -> None:
    receiver = Receiver()
    try:
        _replay(client, staff, receiver)
    finally:
        receiver.server.shutdown()


def _replay(client: TestClient, staff, receiver: Receiver) -> None:
    spec = client.get("/openapi.json").json()
    admin: Member = staff("admin")
    covering: Member = staff("therapist")  # a second therapist, not on the patient's care team
    headers = {"admin": admin.headers, "reception": staff("reception").headers, "covering": covering.headers,
               "anyone": {}}
    ids: dict[str, str] = {"colleague_id": str(covering.id)}
    etags: dict[str, str] = {}
    replayed: set[tuple[str, str]] = set()
    for who, method, template, named in STORY:
        op = spec["paths"][template][method]
        path = template.format(**ids)
        request_headers = {**headers.get(who, {}), **HEADERS.get(template, {})}
        example = _example(op, named)
        kwargs: dict[str, Any] = {}
        if example is not None:
            media_type, body = example
            body = _with_ids(copy.deepcopy(body), {**ids, **{k: ids[v] for k, v in BODY_IDS.get(template, {}).items()}})
            replayed.add((method, template))
            if media_type == "application/json":
                if template == "/api/v1/webhooks":
                    # The example's booking.example never resolves (RFC 2606); a local receiver stands in.
                    body["url"] = receiver.url
                kwargs["json"] = body
            elif media_type == "application/fhir+json":
                kwargs["content"] = json.dumps(body)
                request_headers["Content-Type"] = media_type
            elif media_type == "application/x-www-form-urlencoded":
                kwargs["data"] = body
            else:
                csv_name = template.rsplit("/", 1)[-1] + ".csv"
                kwargs["files"] = {name: (csv_name, text.encode(), "text/csv") for name, text in body.items()}
        if template in ETAG_OF_CREATED:
            request_headers["If-Match"] = etags[ETAG_OF_CREATED[template]]
        elif method == "patch" or template in READ_FOR_ETAG:
            read = client.get(READ_FOR_ETAG.get(template, template).format(**ids), headers=headers.get(who, {}))
            assert read.status_code == 200, (path, read.text)
            request_headers["If-Match"] = read.headers["ETag"]
        response = client.request(method.upper(), path, headers=request_headers, **kwargs)
        assert response.status_code < 300, f"{method.upper()} {template}: {response.status_code} {response.text}"
        answer = response.json() if response.content else {}
        if template == "/api/v1/auth/token":  # the therapist the admin just created signs in
            headers["therapist"] = {"Authorization": f"Bearer {answer['access_token']}"}
            me = client.get("/api/v1/users/me", headers=headers["therapist"]).json()
            assert me["role"] == "therapist" and me["authorized_to_needle"], me
            ids["therapist_id"] = me["id"]  # whose week is set and with whom visits are booked
        if template in CREATES and not (template.endswith("/consents") and named == "ims_dry_needling"):
            ids[CREATES[template]] = answer["id"]  # the e-stim consent is the one withdrawn later
            etags[CREATES[template]] = response.headers.get("ETag", "")
        if template.endswith("/treatments"):
            assert not re.search(r"consent", str(answer.get("warnings", ""))), answer
        if template == "/api/v1/appointments":  # booked after the IMS consent: no warning about it
            assert answer["warnings"] == [], answer
        if template.endswith("/care-team"):  # a new member, the colleague who broke the glass
            assert response.status_code == 201 and answer["user_id"] == ids["colleague_id"], answer
        if template == "/api/v1/appointments/series":  # the week set above has room for the whole course
            assert len(answer["booked"]) == 6 and not answer["skipped"], answer
        if template.startswith("/api/v1/imports/"):  # a real run, not a dry run: every row landed
            assert answer["created"] == answer["total"] == 1 and answer["invalid"] == 0, answer
    every = {(method, path) for path, methods in spec["paths"].items() for method, op in methods.items()
             if "requestBody" in op}
    assert replayed == every, f"request examples not in the story: {sorted(every - replayed)}"
