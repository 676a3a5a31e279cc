"""Background work is visible: workers leave a heartbeat, and /readyz and queued jobs say when none runs."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.jobs.heartbeats import BEAT_EVERY, FORGET_AFTER, STALE_AFTER, Heartbeat
from app.jobs.loop import run_forever
from app.jobs.runner import run_due
from app.main import create_app
from app.models import WorkerHeartbeat
from app.models.base import utcnow
from tests.integrations.conftest import Receiver
from tests.integrations.helpers import subscribe

NO_WORKER = "No background worker has run against this database"


def readyz_worker(client) -> dict:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text  # the API is ready whether or not a worker runs
    return response.json()["worker"]


def test_readyz_says_when_no_worker_has_ever_run(client):
    worker = readyz_worker(client)
    assert worker["status"] == "not_running" and worker["running"] == 0 and worker["last_seen_at"] is None
    assert NO_WORKER in worker["detail"]
    assert "imschart worker" in worker["detail"] and "IMS_WORKER_IN_PROCESS=true" in worker["detail"]


def test_a_running_worker_is_seen_and_a_stopped_one_is_not(app, client, db):
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, kwargs={"factory": app.state.sessionmaker, "stop": stop,
                                                          "interval": 0.05}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while readyz_worker(client)["status"] != "ok":
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.05)
        worker = readyz_worker(client)
        assert worker["running"] == 1 and worker["detail"] is None and worker["last_seen_at"]
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
    [row] = db.scalars(select(WorkerHeartbeat)).all()
    assert row.kind == "worker" and row.stopped_at is not None
    stopped = readyz_worker(client)  # a clean stop shows at once, without waiting for the heartbeat to age
    assert stopped["status"] == "not_running" and "has been seen since" in stopped["detail"]


def test_a_worker_that_went_silent_is_not_counted(app, client, db):
    beat = Heartbeat(app.state.sessionmaker, "worker")
    beat.beat(utcnow() - STALE_AFTER - timedelta(seconds=5))  # killed without a word a while ago
    worker = readyz_worker(client)
    assert worker["status"] == "not_running" and "has been seen since" in worker["detail"]
    Heartbeat(app.state.sessionmaker, "worker").beat()
    assert readyz_worker(client)["status"] == "ok"


def test_heartbeats_are_written_at_most_every_few_seconds_and_old_rows_go(app, db):
    now = utcnow()
    gone = Heartbeat(app.state.sessionmaker, "worker")
    gone.beat(now - FORGET_AFTER - timedelta(hours=1))
    beat = Heartbeat(app.state.sessionmaker, "in_process")
    beat.beat(now)  # its first beat removes the long-gone worker's row
    assert [r.worker_id for r in db.scalars(select(WorkerHeartbeat))] == [beat.worker_id]
    beat.beat(now + BEAT_EVERY / 2)
    assert db.scalar(select(WorkerHeartbeat.last_seen_at)) == now
    beat.beat(now + BEAT_EVERY)
    assert db.scalar(select(WorkerHeartbeat.last_seen_at)) == now + BEAT_EVERY


def test_a_queued_export_says_why_it_waits(app, client, staff, settings):
    admin = staff("admin")
    started = client.post("/api/v1/exports", json={"format": "ndjson"}, headers=admin.headers)
    assert started.status_code == 202, started.text
    assert NO_WORKER in started.json()["waiting_for_worker"]
    poll = started.headers["location"]
    assert "imschart worker" in client.get(poll, headers=admin.headers).json()["waiting_for_worker"]
    Heartbeat(app.state.sessionmaker, "worker").beat()  # a worker starts
    assert client.get(poll, headers=admin.headers).json()["waiting_for_worker"] is None
    assert run_due(app.state.sessionmaker, settings.data_dir) == 1
    done = client.get(poll, headers=admin.headers).json()
    assert done["status"] == "completed" and done["waiting_for_worker"] is None


def test_a_queued_bulk_export_says_why_it_waits(app, client, staff):
    admin = staff("admin")
    kicked = client.get("/fhir/$export", headers={**admin.headers, "Prefer": "respond-async"})
    assert kicked.status_code == 202, kicked.text
    poll = kicked.headers["content-location"].replace("http://testserver", "")
    waiting = client.get(poll, headers=admin.headers)
    assert waiting.status_code == 202 and waiting.headers["x-progress"].startswith("queued: 0 resources. ")
    assert NO_WORKER in waiting.headers["x-progress"]
    Heartbeat(app.state.sessionmaker, "worker").beat()
    assert client.get(poll, headers=admin.headers).headers["x-progress"] == "queued: 0 resources"


def test_pending_webhook_deliveries_say_why_they_wait(app, client, staff):
    admin = staff("admin")
    receiver = Receiver()
    try:
        hook = subscribe(client, admin, receiver.url)
        ping = client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=admin.headers)
        assert ping.status_code == 202 and NO_WORKER in ping.json()["waiting_for_worker"]
        deliveries = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin.headers).json()["items"]
        assert [(d["status"], NO_WORKER in d["waiting_for_worker"]) for d in deliveries] == [("pending", True)]
        Heartbeat(app.state.sessionmaker, "worker").beat()
        deliveries = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin.headers).json()["items"]
        assert [d["waiting_for_worker"] for d in deliveries] == [None]
    finally:
        receiver.server.shutdown()


def test_the_in_process_worker_beats_too(settings, db):
    app = create_app(settings.model_copy(update={"worker_in_process": True}))
    try:
        with TestClient(app) as live:
            deadline = time.monotonic() + 20
            while (worker := readyz_worker(live))["status"] != "ok":
                assert time.monotonic() < deadline, worker
                time.sleep(0.05)
        assert db.scalars(select(WorkerHeartbeat.kind)).all() == ["in_process"]
    finally:
        app.state.engine.dispose()
