"""A subscription learns no more than its scopes read, and its scopes are never more than its manager holds."""

from __future__ import annotations

import hashlib
import hmac
import json

from tests.assessments.helpers import chart_visit
from tests.factories import make_patient
from tests.integrations.helpers import api_client, bearer, run_worker, subscribe

HOOK = "https://127.0.0.1/h"


def received_types(receiver) -> list[str]:
    return [json.loads(r["body"])["type"] for r in receiver.received]


def test_events_reach_only_subscriptions_whose_scopes_read_them(client, staff, app, receiver):
    admin, therapist = staff("admin"), staff("therapist")
    demographics = subscribe(client, admin, receiver.url, events=["*"], scopes=["patients:read"])
    chart_visit(client, therapist)  # patient, episode and assessment created
    clinic_etag = client.get("/api/v1/clinic", headers=admin.headers).headers["etag"]
    assert client.patch("/api/v1/clinic", json={"screening_recheck_days": 14},
                        headers={**admin.headers, "If-Match": clinic_etag}).status_code == 200
    while run_worker(app):
        pass
    assert received_types(receiver) == ["patient.created", "clinic.updated"]  # nothing clinical, no staff
    log = client.get(f"/api/v1/webhooks/{demographics['id']}/deliveries", headers=admin.headers).json()["items"]
    assert {d["event_type"] for d in log} == {"patient.created", "clinic.updated"}


def test_clinical_events_need_clinical_read(client, staff, app, receiver):
    admin, therapist = staff("admin"), staff("therapist")
    subscribe(client, admin, receiver.url, events=["*"], scopes=["clinical:read"])
    chart_visit(client, therapist)
    while run_worker(app):
        pass
    assert received_types(receiver) == ["episode.created", "assessment.created"]


def test_a_webhooks_only_key_cannot_grant_scopes_it_lacks(client, staff):
    admin = staff("admin")
    key = bearer(api_client(client, admin, ["webhooks"])["key"])
    escalate = client.post("/api/v1/webhooks", json={"url": HOOK, "event_types": ["treatment.signed"],
                                                     "scopes": ["clinical:read"]}, headers=key)
    assert escalate.status_code == 403 and "clinical:read" in escalate.json()["detail"]
    staff_events = client.post("/api/v1/webhooks", json={"url": HOOK, "event_types": ["user.*"],
                                                         "scopes": ["staff:manage"]}, headers=key)
    assert staff_events.status_code == 403
    # Without the scope the event type could never be delivered: say so rather than subscribe in vain.
    pointless = client.post("/api/v1/webhooks", json={"url": HOOK, "event_types": ["patient.created"]}, headers=key)
    assert pointless.status_code == 422 and pointless.json()["errors"][0]["field"] == "event_types[0]"
    own = client.post("/api/v1/webhooks", json={"url": HOOK, "event_types": ["*"]}, headers=key)
    assert own.status_code == 201
    raise_it = client.patch(f"/api/v1/webhooks/{own.json()['id']}", json={"scopes": ["patients:read"]},
                            headers={**key, "If-Match": own.headers["etag"]})
    assert raise_it.status_code == 403


def test_a_key_cannot_see_or_redirect_a_subscription_with_more_scopes_than_it_holds(client, staff):
    admin = staff("admin")
    clinical = subscribe(client, admin, HOOK, events=["treatment.*"], scopes=["clinical:read"])
    key = bearer(api_client(client, admin, ["webhooks", "patients:read"])["key"])
    mine = subscribe(client, admin, HOOK, events=["patient.*"], scopes=["patients:read"])
    assert [s["id"] for s in client.get("/api/v1/webhooks", headers=key).json()] == [mine["id"]]
    base = f"/api/v1/webhooks/{clinical['id']}"
    assert client.get(base, headers=key).status_code == 403
    assert client.patch(base, json={"url": "https://attacker.example/h"},
                        headers={**key, "If-Match": 'W/"1"'}).status_code == 403
    assert client.get(f"{base}/deliveries", headers=key).status_code == 403
    assert client.post(f"{base}/rotate-secret", headers=key).status_code == 403
    assert client.post(f"{base}/ping", headers=key).status_code == 403
    assert client.get(base, headers=admin.headers).json()["url"] == HOOK


def test_unknown_event_types_are_refused(client, staff):
    admin = staff("admin")
    for bad in ("gossip.exploded", "patient.exploded", "gossip.*"):
        response = client.post("/api/v1/webhooks", json={"url": HOOK, "event_types": ["patient.created", bad],
                                                         "scopes": ["patients:read"]}, headers=admin.headers)
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "event_types[1]"


def test_admins_can_follow_staff_changes(client, staff, app, receiver):
    admin = staff("admin")
    subscribe(client, admin, receiver.url, events=["user.*"], scopes=["staff:manage"])
    created = client.post("/api/v1/users", json={"email": "new@clinic.example", "full_name": "New Hire",
                                                 "role": "reception", "password": "a long passphrase here"},
                          headers=admin.headers).json()
    client.post(f"/api/v1/users/{created['id']}/deactivate", headers=admin.headers)
    client.post(f"/api/v1/users/{created['id']}/deactivate", headers=admin.headers)  # a repeat: no event
    while run_worker(app):
        pass
    events = [json.loads(r["body"]) for r in receiver.received]
    assert [(e["type"], e["resource"]["id"], e["resource"]["version"]) for e in events] == [
        ("user.created", created["id"], 1), ("user.deactivated", created["id"], 2)]


def test_rotating_the_secret_shows_the_new_one_once_and_signs_with_it(client, staff, app, receiver):
    admin, therapist = staff("admin"), staff("therapist")
    hook = subscribe(client, admin, receiver.url, events=["patient.created"], scopes=["patients:read"])
    rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=admin.headers)
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    secret = rotated.json()["secret"]
    assert secret.startswith("whsec_") and secret != hook["secret"]
    assert "secret" not in client.get(f"/api/v1/webhooks/{hook['id']}", headers=admin.headers).json()
    therapist_tries = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=therapist.headers)
    assert therapist_tries.status_code == 403
    make_patient(client, therapist)
    while run_worker(app):
        pass
    [request] = receiver.received
    headers = {k.lower(): v for k, v in request["headers"].items()}
    expected = hmac.new(secret.encode(), f"{headers['ims-timestamp']}.".encode() + request["body"],
                        hashlib.sha256).hexdigest()
    assert headers["ims-signature"] == f"sha256={expected}"
