"""Webhooks from the outbox to a real local receiver: signed, retried, ordered, redeliverable."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.models.base import utcnow
from tests.assessments.helpers import chart_visit
from tests.factories import make_patient
from tests.integrations.helpers import run_worker, subscribe, verify


def test_signed_events_for_create_update_and_sign(client, staff, app, receiver):
    admin, therapist = staff("admin"), staff("therapist")
    subscribe(client, admin, receiver.url, events=["patient.*", "assessment.signed"])
    patient, _, assessment = chart_visit(client, therapist)
    client.patch(f"/api/v1/patients/{patient['id']}", json={"phone": "416 555 0111"},
                 headers={**therapist.headers, "If-Match": 'W/"1"'})
    client.post(f"/api/v1/assessments/{assessment['id']}/sign", headers=therapist.headers)
    while run_worker(app):
        pass
    events = [verify(r) for r in receiver.received]
    assert sorted(e["type"] for e in events) == ["assessment.signed", "patient.created", "patient.updated"]
    assert [e["type"] for e in events if e["resource"]["type"] == "patient"] == ["patient.created",
                                                                                 "patient.updated"]
    assert events[0]["resource"] == {"type": "patient", "id": patient["id"], "version": 1, "patient_id": patient["id"]}


def test_a_receiver_that_was_down_gets_everything_in_order(client, staff, app, receiver):
    admin, therapist = staff("admin"), staff("therapist")
    hook = subscribe(client, admin, receiver.url, events=["patient.created", "patient.updated"],
                     scopes=["patients:read"])
    receiver.status = 500
    patient = make_patient(client, therapist)
    client.patch(f"/api/v1/patients/{patient['id']}", json={"phone": "416 555 0112"},
                 headers={**therapist.headers, "If-Match": 'W/"1"'})
    assert run_worker(app) == 1  # the update waits behind the failed create: order per resource
    log = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin.headers).json()["items"]
    failed = next(d for d in log if d["event_type"] == "patient.created")
    assert failed["status"] == "pending" and failed["attempts"] == 1 and failed["last_status_code"] == 500
    assert run_worker(app) == 0  # backing off
    receiver.status = 200
    later = utcnow() + timedelta(hours=20)
    while run_worker(app, now=later):
        pass
    ok = [json.loads(r["body"]) for r in receiver.received[1:]]
    assert [e["type"] for e in ok] == ["patient.created", "patient.updated"]
    assert ok[0]["resource"]["patient_id"] == patient["id"]
    log = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin.headers).json()["items"]
    assert {d["status"] for d in log} == {"delivered"}


def test_manual_redelivery_and_ping(client, staff, app, receiver):
    admin, therapist = staff("admin"), staff("therapist")
    hook = subscribe(client, admin, receiver.url)
    make_patient(client, therapist)
    run_worker(app)
    delivery = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin.headers).json()["items"][0]
    again = client.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver", headers=admin.headers)
    assert again.status_code == 202 and again.json()["redelivery_of"] == delivery["id"]
    ping = client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=admin.headers)
    assert ping.status_code == 202
    while run_worker(app):
        pass
    events = [verify(r) for r in receiver.received]
    assert [e["id"] for e in events[:2]] == [delivery["event_id"], delivery["event_id"]]
    assert events[2]["type"] == "ping"


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data", "https://[fe80::1]/hook",
                                 "http://10.0.0.5/hook", "ftp://127.0.0.1/x", "https://user:pw@127.0.0.1/x"])
def test_unsafe_urls_are_refused(client, staff, url):
    response = client.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=staff("admin").headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "url"


def test_webhooks_need_the_webhooks_permission(client, staff):
    for role in ("therapist", "reception", "auditor"):
        assert client.get("/api/v1/webhooks", headers=staff(role).headers).status_code == 403


def test_the_embedded_default_delivers_from_a_thread_of_the_api_process(settings, receiver, engine_kind):
    import time

    from app.main import create_app
    from tests.factories import Staff

    app = create_app(settings.model_copy(update={"worker_in_process": True}))
    try:
        with TestClient(app) as live:
            admin = Staff(app)("admin")
            subscribe(live, admin, receiver.url, events=["patient.created"])
            patient = make_patient(live, admin)
            deadline = time.monotonic() + 30  # the worker thread shares a loaded machine: bound, do not count naps
            while not receiver.received and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [verify(r)["resource"]["id"] for r in receiver.received] == [patient["id"]]
    finally:
        app.state.engine.dispose()


def test_order_per_resource_follows_commit_order_not_the_clock(client, staff, app, receiver, db):
    """Two API hosts whose clocks disagree: the later change was stamped earlier. The receiver still
    gets the patient's changes in the order they were committed."""
    from sqlalchemy import update

    from app.models.integration import WebhookDelivery

    admin, therapist = staff("admin"), staff("therapist")
    subscribe(client, admin, receiver.url, events=["patient.*"], scopes=["patients:read"])
    patient = make_patient(client, therapist)
    client.patch(f"/api/v1/patients/{patient['id']}", json={"phone": "416 555 0113"},
                 headers={**therapist.headers, "If-Match": 'W/"1"'})
    skewed = utcnow() - timedelta(minutes=5)  # the update's host runs five minutes slow
    db.execute(update(WebhookDelivery).where(WebhookDelivery.event_type == "patient.updated")
               .values(created_at=skewed, next_attempt_at=skewed))
    while run_worker(app):
        pass
    assert [json.loads(r["body"])["type"] for r in receiver.received] == ["patient.created", "patient.updated"]
