"""Every request example in the OpenAPI document works: replayed in story order, each one succeeds.

The examples tell one visit (app/kit/openapi.py): an admin adds a therapist rostered to needle, who signs in
with the token example (a form), registers the patient, opens an episode, assesses, records consents (IMS and
electrical stimulation, which the treatment example uses), screens, treats, signs, amends and records an
outcome. The ids in the examples are placeholders; each step sends the ids earlier responses returned.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Member
from tests.integrations.conftest import Receiver

# (who, method, path, named example or None) in the order a first visit happens.
STORY: list[tuple[str, str, str, str | None]] = [
    ("admin", "post", "/api/v1/users", None),
    ("anyone", "post", "/api/v1/auth/token", None),
    ("therapist", "post", "/api/v1/patients", None),
    ("therapist", "patch", "/api/v1/patients/{patient_id}", None),
    ("therapist", "post", "/api/v1/patients/{patient_id}/episodes", None),
    ("therapist", "patch", "/api/v1/episodes/{episode_id}", None),
    ("therapist", "post", "/api/v1/patients/{patient_id}/assessments", None),
    ("therapist", "patch", "/api/v1/assessments/{assessment_id}", None),
    ("therapist", "post", "/api/v1/assessments/{assessment_id}/sign", None),
    ("therapist", "post", "/api/v1/assessments/{assessment_id}/amendments", None),
    ("therapist", "post", "/api/v1/patients/{patient_id}/consents", "ims_dry_needling"),
    ("therapist", "post", "/api/v1/patients/{patient_id}/consents", "electrical_stimulation"),
    ("therapist", "post", "/api/v1/patients/{patient_id}/screenings", None),
    ("therapist", "post", "/api/v1/patients/{patient_id}/treatments", None),
    ("therapist", "patch", "/api/v1/treatments/{treatment_id}", None),
    ("therapist", "post", "/api/v1/treatments/{treatment_id}/sign", None),
    ("therapist", "post", "/api/v1/treatments/{treatment_id}/amendments", None),
    ("therapist", "post", "/api/v1/patients/{patient_id}/outcomes", None),
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
]
# Which id a created resource's response provides, by the collection it was posted to.
CREATES = {"/api/v1/users": "user_id", "/api/v1/patients": "patient_id",
           "/api/v1/patients/{patient_id}/episodes": "episode_id",
           "/api/v1/patients/{patient_id}/assessments": "assessment_id",
           "/api/v1/patients/{patient_id}/consents": "consent_id",
           "/api/v1/patients/{patient_id}/treatments": "treatment_id", "/api/v1/webhooks": "webhook_id"}
# The resource a PATCH edits is read first for its ETag (If-Match is required).
READ_FOR_ETAG = {"/api/v1/clinic": "/api/v1/clinic"}


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
    headers = {"admin": admin.headers, "anyone": {}}
    ids: dict[str, str] = {}
    replayed: set[tuple[str, str]] = set()
    for who, method, template, named in STORY:
        op = spec["paths"][template][method]
        path = template.format(**ids)
        request_headers = {**headers.get(who, {})}
        example = _example(op, named)
        kwargs: dict[str, Any] = {}
        if example is not None:
            media_type, body = example
            body = _with_ids(copy.deepcopy(body), ids)
            replayed.add((method, template))
            if media_type == "application/json":
                if template == "/api/v1/webhooks":
                    # The example's booking.example never resolves (RFC 2606); a local receiver stands in.
                    body["url"] = receiver.url
                kwargs["json"] = body
            elif media_type == "application/x-www-form-urlencoded":
                kwargs["data"] = body
            else:
                kwargs["files"] = {name: ("patients.csv", text.encode(), "text/csv") for name, text in body.items()}
        if method == "patch":
            read = client.get(READ_FOR_ETAG.get(template, path), headers=request_headers)
            assert read.status_code == 200, (path, read.text)
            request_headers["If-Match"] = read.headers["ETag"]
        response = client.request(method.upper(), path, headers=request_headers, **kwargs)
        assert response.status_code < 300, f"{method.upper()} {template}: {response.status_code} {response.text}"
        answer = response.json() if response.content else {}
        if template == "/api/v1/auth/token":  # the therapist the admin just created signs in
            headers["therapist"] = {"Authorization": f"Bearer {answer['access_token']}"}
            me = client.get("/api/v1/users/me", headers=headers["therapist"]).json()
            assert me["role"] == "therapist" and me["authorized_to_needle"], me
        if template in CREATES and not (template.endswith("/consents") and named == "ims_dry_needling"):
            ids[CREATES[template]] = answer["id"]  # the e-stim consent is the one withdrawn later
        if template.endswith("/treatments"):
            assert not re.search(r"consent", str(answer.get("warnings", ""))), answer
    every = {(method, path) for path, methods in spec["paths"].items() for method, op in methods.items()
             if "requestBody" in op}
    assert replayed == every, f"request examples not in the story: {sorted(every - replayed)}"
